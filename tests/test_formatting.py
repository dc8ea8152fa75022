"""How figures, times and codes read on every page: through the shared helpers (borrowdesk.formatting),
the template filters that wrap them, and the table helper's cells."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template

from borrowdesk.formatting import label, qty, unpadded, usd, usd_price, when
from borrowdesk.pages import Column, _cell, display


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("0"), "0"),
        (Decimal("0E-18"), "0"),
        (Decimal("-0.000000000000000000"), "0"),
        (Decimal("5.000000000000000000"), "5"),  # a Decimal(38, 18) from the database: no padding
        (Decimal("2.50"), "2.5"),
        (Decimal("1234.56"), "1,234.56"),  # 2 decimals
        (Decimal("0.00000001"), "0.00000001"),  # 8 decimals, never 1E-8
        (Decimal("12345.12345678"), "12,345.12345678"),
        (Decimal("1.000000000000000001"), "1.000000000000000001"),  # 18 decimals kept
        (Decimal("18000000"), "18,000,000"),  # millions
        (Decimal("18000000.000000000000000000"), "18,000,000"),
        (Decimal("1E+1"), "10"),  # never in exponent form
        (Decimal("-1234567.5"), "-1,234,567.5"),  # negatives
        (Decimal("-0.00000001"), "-0.00000001"),
        (1500, "1,500"),
        (None, "—"),
        ("", "—"),
    ],
)
def test_qty_groups_thousands_and_never_pads(value, shown):
    assert qty(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("486250"), "$486,250.00"),
        (Decimal("486250.00000000"), "$486,250.00"),
        (Decimal("0"), "$0.00"),
        (Decimal("0.005"), "$0.00"),  # banker's rounding of the third decimal
        (Decimal("0.015"), "$0.02"),
        (Decimal("1234567.891"), "$1,234,567.89"),
        (Decimal("-12.5"), "-$12.50"),
        (Decimal("97250.000000000000000000"), "$97,250.00"),
        (None, "—"),
    ],
)
def test_usd_has_two_decimals_and_separators(value, shown):
    assert usd(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("97250.00000000"), "$97,250.00"),
        (Decimal("1.5"), "$1.50"),
        (Decimal("0.00001234"), "$0.00001234"),  # a sub-cent token's mark is not $0.00
        (Decimal("1000000.12345678"), "$1,000,000.12345678"),
    ],
)
def test_a_price_keeps_the_decimals_it_carries_but_at_least_two(value, shown):
    assert usd_price(value) == shown


def test_unpadded_is_what_an_input_box_and_a_message_show():
    assert unpadded(Decimal("5.000000000000000000")) == "5"
    assert unpadded(Decimal("18000000.5")) == "18000000.5"  # no separators: it parses back
    assert unpadded(Decimal("0.000000000000000001")) == "0.000000000000000001"
    assert unpadded(None) == ""


def test_times_read_in_the_desk_time_zone_with_its_name(settings):
    settings.DESK_TIME_ZONE = "Europe/London"
    assert when(datetime(2026, 12, 1, 9, 30, tzinfo=UTC)) == "2026-12-01 09:30 GMT"
    assert when(datetime(2026, 7, 1, 9, 30, tzinfo=UTC)) == "2026-07-01 10:30 BST"
    settings.DESK_TIME_ZONE = "Asia/Singapore"
    assert when(datetime(2026, 12, 1, 9, 30, tzinfo=UTC)) == "2026-12-01 17:30 +08"
    assert when(date(2026, 12, 1)) == "2026-12-01"
    assert when(None) == "—"


def test_codes_read_as_words():
    assert label("pending_second_approval") == "Pending second approval"
    assert label("failed") == "Failed"


def test_display_is_what_the_table_helper_shows(settings):
    settings.DESK_TIME_ZONE = "Europe/London"
    assert display(Decimal("18000000.000000000000000000")) == "18,000,000"
    assert display(datetime(2026, 12, 1, 9, 30, tzinfo=UTC)) == "2026-12-01 09:30 GMT"
    assert display(42) == 42 and display("BTC") == "BTC" and display(True) is True


def test_the_template_filters_use_the_same_helpers(settings):
    settings.DESK_TIME_ZONE = "Europe/London"
    html = Template(
        "{% load desk %}{{ q|qty }} | {{ q|plain_qty }} | {{ n|usd }} | {{ p|usd_price }} | {{ t|when }}"
        " | {{ s|label }} | {{ r|role_label }} | {{ q|aligned }}"
    ).render(
        Context(
            {
                "q": Decimal("18000000.250000000000000000"),
                "n": Decimal("486250"),
                "p": Decimal("0.00001234"),
                "t": datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
                "s": "pending_delivery",
                "r": "ops_senior",
            }
        )
    )
    assert html == (
        "18,000,000.25 | 18000000.25 | $486,250.00 | $0.00001234 | 2026-12-01 09:30 GMT"
        " | Pending delivery | Senior operations"
        ' | <span class="i">18,000,000</span><span class="f">.25</span>'
    )


class _Row:
    status = "pending_delivery"
    quantity = Decimal("-1234.500000000000000000")
    price = Decimal("97250.00000000")

    def get_status_display(self):
        return "Pending delivery"


def test_a_table_cell_shows_the_choice_label_and_splits_figures_on_the_point():
    status = _cell(Column("Status", "status", badge=True), _Row())
    assert (status["value"], status["code"]) == ("Pending delivery", "pending_delivery")
    quantity = _cell(Column("Quantity", "quantity", numeric=True), _Row())
    assert (quantity["value"], quantity["whole"], quantity["fraction"]) == ("-1,234.5", "-1,234", ".5")
    assert _cell(Column("Price", "price", numeric=True, usd=True), _Row())["value"] == "$97,250.00"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1.5"), "150.0%"),
        (Decimal("1.523456"), "152.3%"),
        (Decimal("0.9"), "90.0%"),
        (Decimal("12.345678"), "1,234.6%"),
        (Decimal("0"), "0.0%"),
        (None, "—"),
    ],
)
def test_a_ratio_reads_as_a_percentage(value, shown):
    from borrowdesk.formatting import ratio_pct

    assert ratio_pct(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [(Decimal("12.5000"), "12.5%"), (Decimal("100"), "100%"), ("not eligible", "not eligible"), (None, "—")],
)
def test_a_percentage_reads_unpadded(value, shown):
    from borrowdesk.formatting import pct

    assert pct(value) == shown


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [
        (0.5, "0 min"),
        (12, "12 min"),
        (60, "1 h"),
        (192, "3 h 12 min"),
        (24 * 60, "1 d"),
        (52 * 60 + 5, "2 d 4 h"),
        (-90, "1 h 30 min"),
    ],
)
def test_a_span_reads_in_days_hours_and_minutes(minutes, shown):
    from datetime import timedelta

    from borrowdesk.formatting import duration

    assert duration(timedelta(minutes=minutes)) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("10.4167"), "10.4%"),
        (Decimal("68.75"), "68.8%"),  # banker's rounding, as ratio_pct
        (Decimal("68.65"), "68.6%"),
        (Decimal("75"), "75.0%"),
        (Decimal("0.0400"), "0.0%"),
        (None, "—"),
    ],
)
def test_a_computed_share_reads_as_a_percentage_with_one_decimal(value, shown):
    from borrowdesk.formatting import pct

    assert pct(value, 1) == shown
