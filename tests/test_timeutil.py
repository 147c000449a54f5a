"""The one module that reads and writes times."""

from __future__ import annotations

from datetime import UTC, date, datetime

from crawler.core.timeutil import (
    event_hour,
    event_time,
    iso_utc,
    parse_date_header,
    parse_day,
    parse_iso,
    parse_utc,
)


def test_parse_iso_takes_naive_as_utc_unless_told() -> None:
    assert parse_iso("2026-03-02T10:00:00Z") == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert parse_iso("2026-03-02T10:00:00") == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert parse_iso("2026-03-02T10:00:00", naive_as_utc=False) == datetime(2026, 3, 2, 10)
    assert parse_iso("yesterday") is None and parse_iso(None) is None and parse_iso("") is None


def test_utc_to_the_second() -> None:
    assert parse_utc("2026-03-02T12:00:00.5+02:00") == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert iso_utc(datetime(2026, 3, 2, 12, 0, 0, 5, tzinfo=UTC)) == "2026-03-02T12:00:00+00:00"
    assert iso_utc(datetime(2026, 3, 2, 12)) == "2026-03-02T12:00:00+00:00"


def test_day_and_header_forms() -> None:
    assert parse_day("2026-03-02T23:59:00-05:00") == date(2026, 3, 2)
    assert parse_day("03/02/2026") is None
    moment = parse_date_header("Mon, 02 Mar 2026 10:00:00 GMT")
    assert moment == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert parse_date_header("not a date") is None


def test_event_time_and_hour_prefer_publication_unless_later() -> None:
    seen = "2026-03-02T10:00:00+00:00"
    assert event_time("2026-03-01T08:00:00Z", seen) == "2026-03-01T08:00:00+00:00"
    assert event_time("2026-03-05T08:00:00Z", seen) == seen  # a future date is not the event
    assert event_time(None, seen) == seen
    noon = int(datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp()) // 3600
    assert event_hour("2026-03-01", seen) == noon  # a bare date counts from its noon
    assert event_hour(None, "garbage") == 0


def test_is_future_takes_a_naive_time_as_utc() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from crawler.core.timeutil import is_future

    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert is_future(datetime(2026, 3, 2, 12, 1), now)
    assert not is_future(datetime(2026, 3, 2, 11, 59), now)
    # 13:00 at UTC+2 is 11:00 UTC: past
    assert not is_future(datetime(2026, 3, 2, 13, 0, tzinfo=timezone(timedelta(hours=2))), now)
