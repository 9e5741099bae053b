"""Progress: each member's level in the four habits, derived from the activity ledger.

Only the member's own rows are read, through the (server, member, kind, time) index, so the
answer takes the same few milliseconds in a server with ten events or ten million.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import ActivityEvent, Database, Resource, utcnow
from bot.habits import HABIT_ORDER, EventKind, Habit, Level

WEEK = timedelta(days=7)
HABIT_WINDOW_WEEKS = 4
HABIT_ACTIVE_WEEKS = 3
PRACTICING_SHARES = 3

CONTRIBUTION_KINDS = (EventKind.SHARE,)
USE_KINDS = (EventKind.MARKED_USEFUL, EventKind.RESHARE)


@dataclass(frozen=True, slots=True)
class HabitProgress:
    habit: Habit
    level: Level
    # Whether the bot can see this habit yet; untracked habits always read "not started".
    tracked: bool
    # What the bot has counted, in words ("4 shares · 1 found useful by others").
    summary: str
    # What would take the member to the next level, or None at the top.
    next_milestone: str | None


@dataclass(frozen=True, slots=True)
class MemberProgress:
    server_id: int
    user_id: int
    habits: tuple[HabitProgress, ...]

    def of(self, habit: Habit) -> HabitProgress:
        return next(item for item in self.habits if item.habit is habit)


def active_weeks(times: list[datetime], now: datetime, weeks: int = HABIT_WINDOW_WEEKS) -> int:
    """In how many of the last ``weeks`` seven-day windows (ending now) something happened."""
    buckets = {int((now - moment) / WEEK) for moment in times if now - moment >= timedelta(0)}
    return len({bucket for bucket in buckets if bucket < weeks})


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def contribute_progress(shares: int, used: int, weeks_active: int) -> HabitProgress:
    """Apply the Contribute thresholds from the product model to counted facts."""
    practicing = shares >= PRACTICING_SHARES and used >= 1
    level = Level.NOT_STARTED
    if shares >= 1:
        level = Level.STARTED
    if practicing:
        level = Level.PRACTICING
    if practicing and weeks_active >= HABIT_ACTIVE_WEEKS:
        level = Level.HABIT

    summary = "Nothing shared yet."
    if shares:
        summary = (
            f"{_plural(shares, 'share')} · {used} found useful by others · "
            f"active {weeks_active} of the last {HABIT_WINDOW_WEEKS} weeks"
        )

    milestone: str | None
    if level is Level.NOT_STARTED:
        milestone = "Share one link, lesson plan or tip with `/share`."
    elif level is Level.STARTED:
        needs = []
        if shares < PRACTICING_SHARES:
            needs.append(f"share {PRACTICING_SHARES - shares} more")
        if used < 1:
            needs.append("have one of your shares marked useful by a colleague")
        milestone = " and ".join(needs).capitalize() + " to reach Practicing."
    elif level is Level.PRACTICING:
        missing = HABIT_ACTIVE_WEEKS - weeks_active
        milestone = (
            f"Share in {HABIT_ACTIVE_WEEKS} of the last {HABIT_WINDOW_WEEKS} weeks to make it "
            f"a habit ({_plural(missing, 'more week')} to go)."
        )
    else:
        milestone = None
    return HabitProgress(Habit.CONTRIBUTE, level, True, summary, milestone)


_NOT_TRACKED_YET = {
    Habit.CONNECT: "Replying to, reacting to and welcoming colleagues will count here soon.",
    Habit.CONVERSE: "Back-and-forth exchanges with colleagues will count here soon.",
    Habit.REQUEST: "Questions you ask the network with /ask will count here soon.",
}


class ProgressService:
    """Each member's level in the four habits, computed from the ledger on request."""

    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._database = database
        self._clock = clock

    async def progress(self, server_id: int, user_id: int) -> MemberProgress:
        now = self._clock()
        async with self._database.read() as session:
            contribute = await self._contribute(session, server_id, user_id, now)
        habits = tuple(
            contribute
            if habit is Habit.CONTRIBUTE
            else HabitProgress(habit, Level.NOT_STARTED, False, _NOT_TRACKED_YET[habit], None)
            for habit in HABIT_ORDER
        )
        return MemberProgress(server_id, user_id, habits)

    @staticmethod
    async def _contribute(
        session: AsyncSession, server_id: int, user_id: int, now: datetime
    ) -> HabitProgress:
        mine = (
            (ActivityEvent.server_id == server_id)
            & (ActivityEvent.member_id == user_id)
            & ActivityEvent.kind.in_([kind.value for kind in CONTRIBUTION_KINDS])
        )
        shares = await session.scalar(select(func.count()).where(mine)) or 0
        recent = (
            await session.scalars(
                select(ActivityEvent.occurred_at).where(
                    mine, ActivityEvent.occurred_at > now - HABIT_WINDOW_WEEKS * WEEK
                )
            )
        ).all()
        used = 0
        if shares:
            used = (
                await session.scalar(
                    select(func.count(func.distinct(ActivityEvent.resource_id)))
                    .join(Resource, Resource.id == ActivityEvent.resource_id)
                    .where(
                        Resource.server_id == server_id,
                        Resource.shared_by == user_id,
                        ActivityEvent.kind.in_([kind.value for kind in USE_KINDS]),
                        ActivityEvent.member_id != user_id,
                    )
                )
                or 0
            )
        return contribute_progress(shares, used, active_weeks(list(recent), now))
