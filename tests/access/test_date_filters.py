"""The audit and access-log pages' date filters: an impossible date is a 400 with a message, never a
500 (issue 7, section 3: each of these answered 500), and the calendar's last day is just a filter."""

from __future__ import annotations

import pytest
from django.utils import timezone


@pytest.mark.parametrize(
    "query", ["since=9999-99-99", "until=0000-01-01", "since=2026-02-30", "until=2026-02-30", "since=x"]
)
def test_an_impossible_date_on_the_audit_page_is_a_400_with_a_message(login, audrey, query):
    response = login(audrey).get(f"/accounts/audit/?{query}")
    assert response.status_code == 400
    assert "Enter a real date as YYYY-MM-DD" in response.content.decode()
    assert response.context["page"].paginator.count == 0


def test_the_last_day_of_the_calendar_is_a_valid_until_on_the_audit_page(login, audrey, acme):
    response = login(audrey).get("/accounts/audit/?since=0001-01-01&until=9999-12-31")
    assert response.status_code == 200
    assert response.context["page"].paginator.count >= 1  # ACME's creation, at least


def test_audit_dates_filter_whole_days(login, audrey, acme):
    today = timezone.localdate()
    assert login(audrey).get(f"/accounts/audit/?since={today}&until={today}").context["page"].paginator.count
    assert not login(audrey).get("/accounts/audit/?until=2000-01-01").context["page"].paginator.count


@pytest.mark.parametrize("day", ["2026-02-30", "9999-99-99", "0000-01-01"])
def test_an_impossible_date_on_the_access_log_is_a_400_with_a_message(login, audrey, day):
    response = login(audrey).get(f"/accounts/access-log/?date={day}")
    assert response.status_code == 400
    assert "Enter a real date as YYYY-MM-DD" in response.content.decode()


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_the_calendars_ends_are_valid_access_log_dates(login, audrey, day):
    response = login(audrey).get(f"/accounts/access-log/?date={day}")
    assert response.status_code == 200


def test_an_impossible_date_in_the_access_log_csv_is_a_400(login, audrey):
    assert login(audrey).get("/accounts/access-log/?date=2026-02-30&format=csv").status_code == 400
