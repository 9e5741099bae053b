"""Weekly local times, turned into UTC instants that survive daylight-saving changes.

A community lead thinks "Mondays at 9:00 in Chicago"; the database holds the next such instant in
UTC. Twice a year that local time is ambiguous or missing. The rules, from the product's promise
of "never twice, never silently skipped":

- a repeated local time (clocks go back) posts once, at its first occurrence (``fold=0``);
- a missing local time (clocks go forward) posts later that day, by the length of the gap
  (09:00 never falls in a gap in practice, 02:30 does).

After downtime a post missed by less than the grace window goes out late, once; an older one is
skipped and the schedule moves on to its next week, so a bot that was off for a month does not
post four challenges in a row.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_TIME = re.compile(r"^\s*(\d{1,2})[:.h](\d{2})\s*$")


class ScheduleError(ValueError):
    """A schedule an admin typed that cannot be used; the message says how to fix it."""


@dataclass(frozen=True, slots=True)
class WeeklyTime:
    """A weekday and local time in an IANA zone: when a server's weekly post goes out."""

    weekday: int  # 0 = Monday, as datetime.weekday()
    at: time
    zone: str

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def describe(self) -> str:
        return f"{WEEKDAYS[self.weekday]}s at {self.at:%H:%M} ({self.zone})"

    def day_before(self) -> WeeklyTime:
        """The recap's default: the day before, at the same time."""
        return WeeklyTime((self.weekday - 1) % 7, self.at, self.zone)

    def occurrence_on(self, day: date) -> datetime:
        """This local time on ``day`` in UTC: the first of a repeated time, later for a gap."""
        # fold=0 picks the earlier of two repeated times, and for a time in a gap it uses the
        # offset in force before the gap, which lands as far after the gap as the time was in it.
        local = datetime.combine(day, self.at, tzinfo=self.tz).replace(fold=0)
        return local.astimezone(UTC)

    def next_after(self, instant: datetime) -> datetime:
        """The first occurrence strictly after ``instant`` (an aware datetime), in UTC."""
        local_day = instant.astimezone(self.tz).date()
        start = local_day - timedelta(days=1)  # a gap can push an occurrence past midnight
        for offset in range(9):
            day = start + timedelta(days=offset)
            if day.weekday() != self.weekday:
                continue
            occurrence = self.occurrence_on(day)
            if occurrence > instant:
                return occurrence
        raise AssertionError("a weekday recurs within 8 days")  # pragma: no cover

    def local_date_of(self, occurrence: datetime) -> date:
        """The local day an occurrence belongs to (its week is named after it)."""
        return occurrence.astimezone(self.tz).date()


def week_number(day: date) -> int:
    """A week's number, e.g. 202648 for ISO week 48 of 2026: one post per server per week."""
    year, week, _ = day.isocalendar()
    return year * 100 + week


def parse_weekday(text: str) -> int:
    wanted = text.strip().casefold()
    for index, name in enumerate(WEEKDAYS):
        if len(wanted) >= 2 and name.casefold().startswith(wanted):
            return index
    raise ScheduleError(f"“{text[:20]}” is not a day of the week; try Monday or Mon.")


def parse_time(text: str) -> time:
    match = _TIME.match(text)
    if match is None:
        raise ScheduleError(f"“{text[:20]}” is not a time; write it as HH:MM, e.g. 09:00 or 16:30.")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ScheduleError(f"{hour:02}:{minute:02} is not a time of day; use 00:00 to 23:59.")
    return time(hour, minute)


@lru_cache(maxsize=1)
def known_zones() -> tuple[str, ...]:
    """Every IANA zone name the bundled tz database knows, sorted (for autocomplete)."""
    return tuple(sorted(zone for zone in available_timezones() if "/" in zone or zone == "UTC"))


def parse_zone(text: str) -> str:
    name = text.strip()
    by_folded = {zone.casefold(): zone for zone in known_zones()}
    zone = by_folded.get(name.casefold().replace(" ", "_"))
    if zone is None:
        raise ScheduleError(
            f"“{name[:40]}” is not a time zone I know; pick one from the list, "
            "e.g. America/Chicago or Europe/Berlin."
        )
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - listed zones load
        raise ScheduleError(f"“{name[:40]}” could not be loaded as a time zone.") from None
    return zone


def zone_choices(typed: str, limit: int = 25) -> list[str]:
    """Zones matching what an admin typed so far: prefix matches on any part first."""
    wanted = typed.strip().casefold().replace(" ", "_")
    if not wanted:
        popular = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")
        return [*popular, "Europe/London", "Europe/Berlin", "Australia/Sydney", "UTC"][:limit]
    starts, contains = [], []
    for zone in known_zones():
        folded = zone.casefold()
        if any(part.startswith(wanted) for part in folded.split("/")) or folded.startswith(wanted):
            starts.append(zone)
        elif wanted in folded:
            contains.append(zone)
        if len(starts) >= limit:
            break
    return (starts + contains)[:limit]


class Due(enum.Enum):
    NOT_YET = "not yet"
    ON_TIME = "on time"
    # Missed (the bot was down) but within the grace window: post once, with a note.
    LATE = "late"
    # Missed by more than the grace window: don't post; move on to the next week.
    SKIP = "skip"


# Within this of its time a post is on time (the ticker wakes every few seconds at worst).
ON_TIME_WITHIN = timedelta(minutes=5)


def due_state(scheduled_for: datetime, now: datetime, grace: timedelta) -> Due:
    late_by = now - scheduled_for
    if late_by < timedelta(0):
        return Due.NOT_YET
    if late_by <= ON_TIME_WITHIN:
        return Due.ON_TIME
    if late_by <= grace:
        return Due.LATE
    return Due.SKIP


def spread(server_id: int, seconds: int = 20) -> timedelta:
    """A fixed per-server offset of a few seconds: a thousand servers set to 09:00 should not
    all post in the same second (Discord's 50 requests/s is per bot, across servers)."""
    digest = hashlib.blake2b(server_id.to_bytes(8, "big"), digest_size=4).digest()
    return timedelta(milliseconds=int.from_bytes(digest, "big") % (seconds * 1000))
