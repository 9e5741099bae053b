"""Weekly local times in UTC: daylight-saving days in the US, the EU and the southern hemisphere."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.scheduling.weekly import (
    Due,
    ScheduleError,
    WeeklyTime,
    due_state,
    parse_time,
    parse_weekday,
    parse_zone,
    spread,
    week_number,
    zone_choices,
)

SUNDAY = 6


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc,arg-type]


@pytest.mark.parametrize(
    ("zone", "before", "first", "then"),
    [
        # Chicago falls back on 2026-11-01: 01:30 happens at 06:30 UTC (CDT) and at 07:30 (CST).
        (
            "America/Chicago",
            utc(2026, 10, 31, 12),
            utc(2026, 11, 1, 6, 30),
            utc(2026, 11, 8, 7, 30),
        ),
        # Berlin falls back on 2026-10-25: 02:30 happens at 00:30 UTC (CEST) and 01:30 (CET).
        ("Europe/Berlin", utc(2026, 10, 24, 12), utc(2026, 10, 25, 0, 30), utc(2026, 11, 1, 1, 30)),
        # Sydney falls back on 2026-04-05: 02:30 happens at 15:30 UTC the day before (AEDT),
        # and again an hour later (AEST).
        ("Australia/Sydney", utc(2026, 4, 4), utc(2026, 4, 4, 15, 30), utc(2026, 4, 11, 16, 30)),
    ],
)
def test_a_repeated_local_time_posts_once_at_its_first_occurrence(
    zone: str, before: datetime, first: datetime, then: datetime
) -> None:
    weekly = WeeklyTime(SUNDAY, time(hour=1 if "Chicago" in zone else 2, minute=30), zone)
    assert weekly.next_after(before) == first
    # Just after the first occurrence, the second one (an hour later) is not a new occurrence.
    assert weekly.next_after(first) == then
    assert weekly.next_after(first + timedelta(minutes=59)) == then


@pytest.mark.parametrize(
    ("zone", "before", "moved_to", "local_wall_clock"),
    [
        # Chicago springs forward on 2026-03-08: 02:30 does not exist; it moves to 03:30 CDT.
        ("America/Chicago", utc(2026, 3, 7), utc(2026, 3, 8, 8, 30), time(3, 30)),
        # Berlin springs forward on 2026-03-29.
        ("Europe/Berlin", utc(2026, 3, 28), utc(2026, 3, 29, 1, 30), time(3, 30)),
        # Sydney springs forward on 2026-10-04.
        ("Australia/Sydney", utc(2026, 10, 3), utc(2026, 10, 3, 16, 30), time(3, 30)),
    ],
)
def test_a_missing_local_time_moves_later_that_day(
    zone: str, before: datetime, moved_to: datetime, local_wall_clock: time
) -> None:
    weekly = WeeklyTime(SUNDAY, time(2, 30), zone)
    occurrence = weekly.next_after(before)
    assert occurrence == moved_to
    local = occurrence.astimezone(ZoneInfo(zone))
    assert local.time() == local_wall_clock
    assert local.weekday() == SUNDAY  # the same day, later


@given(
    weekday=st.integers(0, 6),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    zone=st.sampled_from(
        ["America/Chicago", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "UTC"]
    ),
    start=st.datetimes(
        # hypothesis wants naive bounds; the values it draws are in UTC
        min_value=datetime(2025, 1, 1),  # noqa: DTZ001
        max_value=datetime(2028, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
)
def test_occurrences_come_once_a_week_on_the_right_local_day(
    weekday: int, hour: int, minute: int, zone: str, start: datetime
) -> None:
    weekly = WeeklyTime(weekday, time(hour, minute), zone)
    previous = start
    for _ in range(3):
        occurrence = weekly.next_after(previous)
        assert occurrence > previous
        assert occurrence - previous <= timedelta(days=7, hours=2)
        local = occurrence.astimezone(ZoneInfo(zone))
        assert local.weekday() == weekday
        # On time, or moved later by a daylight-saving gap (at most an hour here).
        wanted = datetime.combine(local.date(), time(hour, minute))
        assert timedelta(0) <= local.replace(tzinfo=None) - wanted <= timedelta(hours=1)
        previous = occurrence


def test_due_state_posts_on_time_late_within_the_grace_window_and_skips_older() -> None:
    at = utc(2026, 12, 7, 15)
    grace = timedelta(hours=24)
    assert due_state(at, at - timedelta(seconds=1), grace) is Due.NOT_YET
    assert due_state(at, at + timedelta(seconds=30), grace) is Due.ON_TIME
    assert due_state(at, at + timedelta(hours=3), grace) is Due.LATE
    assert due_state(at, at + timedelta(days=3), grace) is Due.SKIP


def test_admins_typing_is_read_leniently_and_mistakes_are_explained() -> None:
    assert parse_weekday("monday") == 0
    assert parse_weekday("Fri") == 4
    assert parse_time("9:05") == time(9, 5)
    assert parse_time("16.30") == time(16, 30)
    assert parse_zone("america/chicago") == "America/Chicago"
    for bad_time in ("25:00", "9", "noon", "12:60"):
        with pytest.raises(ScheduleError):
            parse_time(bad_time)
    with pytest.raises(ScheduleError, match="time zone"):
        parse_zone("Mars/Olympus_Mons")
    with pytest.raises(ScheduleError):
        parse_weekday("Caturday")


def test_zone_autocomplete_finds_cities_and_stays_within_discords_25_choices() -> None:
    assert "America/Chicago" in zone_choices("chic")
    assert "Europe/Berlin" in zone_choices("berl")
    assert len(zone_choices("a")) <= 25
    assert zone_choices("")


def test_servers_are_spread_over_a_few_seconds_and_weeks_are_numbered_by_iso_week() -> None:
    offsets = {spread(server_id) for server_id in range(10**17, 10**17 + 2000, 7)}
    assert all(timedelta(0) <= offset < timedelta(seconds=20) for offset in offsets)
    assert max(offsets) - min(offsets) > timedelta(seconds=15)  # they really differ
    assert week_number(date(2026, 12, 31)) == 202653
    assert week_number(date(2027, 1, 4)) == 202701
