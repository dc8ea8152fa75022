from datetime import UTC, date, datetime, time

from borrowdesk.business_day import business_date, business_day_end


def test_before_the_open_belongs_to_the_previous_business_date(settings):
    settings.DESK_TIME_ZONE, settings.DESK_OPEN_TIME = "Europe/London", time(7, 0)
    assert business_date(datetime(2026, 11, 25, 6, 59, tzinfo=UTC)) == date(2026, 11, 24)
    assert business_date(datetime(2026, 11, 25, 7, 0, tzinfo=UTC)) == date(2026, 11, 25)


def test_the_desk_time_zone_decides_the_date(settings):
    settings.DESK_TIME_ZONE, settings.DESK_OPEN_TIME = "Asia/Singapore", time(8, 0)
    # 01:00 UTC is 09:00 in Singapore: after the open there.
    assert business_date(datetime(2026, 11, 25, 1, 0, tzinfo=UTC)) == date(2026, 11, 25)
    assert business_date(datetime(2026, 11, 24, 23, 0, tzinfo=UTC)) == date(2026, 11, 24)


def test_a_business_day_ends_at_the_next_open(settings):
    settings.DESK_TIME_ZONE, settings.DESK_OPEN_TIME = "Europe/London", time(7, 0)
    assert business_day_end(date(2026, 11, 24)) == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
