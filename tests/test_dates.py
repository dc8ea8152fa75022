"""One parser of date filters: impossible dates are refused by name, the calendar's ends are open."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from borrowdesk.dates import day_bounds, filter_date
from borrowdesk.errors import InvalidInput


@pytest.mark.parametrize(
    "value",
    ["9999-99-99", "2026-02-30", "0000-01-01", "2026-13-01", "20260101", "2026-1-1", "x", "１２３４-01-01"],
)
def test_an_impossible_date_is_refused_naming_the_parameter(value):
    with pytest.raises(InvalidInput) as caught:
        filter_date(value, field="since")
    assert list(caught.value.fields) == ["since"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        (None, None),
        ("2026-02-28", date(2026, 2, 28)),
        ("9999-12-31", date.max),
        ("0001-01-01", date.min),
    ],
)
def test_a_real_date_or_nothing_is_accepted(value, expected):
    assert filter_date(value, field="date") == expected


def test_day_bounds_is_the_half_open_range_of_whole_days():
    assert day_bounds("2026-03-01", "2026-03-02", tz=UTC) == (
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 3, 3, tzinfo=UTC),
    )


def test_the_last_day_of_the_calendar_leaves_the_range_open_instead_of_overflowing():
    assert day_bounds("", "9999-12-31", tz=UTC) == (None, None)
    assert day_bounds("0001-01-01", "", tz=UTC) == (None, None)


def test_an_until_before_since_is_refused():
    with pytest.raises(InvalidInput) as caught:
        day_bounds("2026-03-02", "2026-03-01")
    assert "until" in caught.value.fields
