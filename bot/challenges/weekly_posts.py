"""Deciding each server's weekly post exactly once, on one process or many.

Every process ticks; the transaction decides. For each due schedule it writes the week's row
(unique per server and week), owes the post in the outbox (unique per row) and advances
``next_run_at``, all at once: a crash before the commit leaves the schedule due, a crash after it
leaves a pending outbox post that the delivery worker finishes, looking for the marked message
first. Two processes deciding together cannot both win: rows are locked (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, the single writer on SQLite) and the week's row is unique.

A process decides for the servers on its own shards at once, and for any server whose post is
overdue by ``takeover_after``: so when a process dies, another one posts for its servers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.challenges.schedules import PostKind, next_run, weekly_time_of
from bot.challenges.selection import pick, server_choices
from bot.db import ChallengeWeek, Database, Recap, WeeklySchedule, utcnow
from bot.db.upsert import dialect_insert
from bot.scheduling.clock import Clock
from bot.scheduling.weekly import Due, due_state, spread, week_number
from bot.services.outbox import Outbox
from bot.sharding import ALL_SHARDS, Shards

log = logging.getLogger(__name__)

DEFAULT_GRACE = timedelta(hours=24)
TAKEOVER_AFTER = timedelta(minutes=2)
# Schedules looked at per transaction: a fan-out to thousands of servers commits in small steps,
# each handed to delivery at once, so posting starts while the rest is still being decided.
BATCH = 50


@dataclass(frozen=True, slots=True)
class Decision:
    server_id: int
    kind: PostKind
    due: Due
    week: int
    # The outbox post owed (None when skipped, or when this week was posted already).
    post_id: int | None


class WeeklyPosts:
    def __init__(
        self,
        database: Database,
        *,
        clock: Clock = utcnow,
        grace: timedelta = DEFAULT_GRACE,
        takeover_after: timedelta = TAKEOVER_AFTER,
    ) -> None:
        self._database = database
        self._clock = clock
        self.grace = grace
        self.takeover_after = takeover_after

    async def next_wake(self, shards: Shards = ALL_SHARDS) -> datetime | None:
        """When the next schedule falls due for this process (another's: once overdue)."""
        async with self._database.read() as session:
            own = await session.scalar(
                select(func.min(WeeklySchedule.next_run_at)).where(
                    shards.owned(WeeklySchedule.server_id)
                )
            )
            others = None
            if not shards.all:
                others = await session.scalar(
                    select(func.min(WeeklySchedule.next_run_at)).where(
                        ~shards.owned(WeeklySchedule.server_id)
                    )
                )
        times = [own] if own is not None else []
        if others is not None:
            times.append(others + self.takeover_after)
        return min(times) if times else None

    async def decide_due(
        self,
        shards: Shards = ALL_SHARDS,
        on_batch: Callable[[list[Decision]], None] | None = None,
    ) -> list[Decision]:
        """Decide every post that is due now; returns what was decided (posts owed, skips).

        ``on_batch`` hears of each committed batch (delivery starts on it at once).
        """
        decisions: list[Decision] = []
        while True:
            batch, more = await self._decide_batch(shards)
            decisions.extend(batch)
            if batch and on_batch is not None:
                on_batch(batch)
            if not more:
                return decisions

    async def _decide_batch(self, shards: Shards) -> tuple[list[Decision], bool]:
        """One transaction: up to BATCH due schedules decided with a handful of statements."""
        now = self._clock()
        due = WeeklySchedule.next_run_at <= now
        if not shards.all:  # another process's servers: once they are overdue (it may be down)
            due = due & (
                shards.owned(WeeklySchedule.server_id)
                | (WeeklySchedule.next_run_at <= now - self.takeover_after)
            )
        async with self._database.write() as session:
            query = select(WeeklySchedule).where(due).order_by(WeeklySchedule.next_run_at)
            if not self._database.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = list((await session.scalars(query.limit(BATCH))).all())
            decisions = await self._decide(session, rows, now)
        return decisions, len(rows) == BATCH

    async def _decide(
        self, session: AsyncSession, rows: list[WeeklySchedule], now: datetime
    ) -> list[Decision]:
        plans: list[_Plan] = []
        for row in rows:
            weekly = weekly_time_of(row)
            scheduled_for = row.next_run_at
            occurrence = scheduled_for - spread(row.server_id)
            plan = _Plan(
                row=row,
                kind=PostKind(row.kind),
                due=due_state(scheduled_for, now, self.grace),
                week=week_number(weekly.local_date_of(occurrence)),
                scheduled_for=scheduled_for,
            )
            # The deadline of this week's challenge is the next post: advance first.
            row.next_run_at = next_run(weekly, row.server_id, after=max(now, occurrence))
            plans.append(plan)
            if plan.due is Due.SKIP:
                log.info(
                    "Server %s: the %s of week %s was due at %s, more than %s ago; skipping to %s",
                    row.server_id,
                    plan.kind.value,
                    plan.week,
                    scheduled_for,
                    self.grace,
                    row.next_run_at,
                )
        posting = [plan for plan in plans if plan.due is not Due.SKIP]
        challenges = [plan for plan in posting if plan.kind is PostKind.CHALLENGE]
        recaps = [plan for plan in posting if plan.kind is PostKind.RECAP]
        if challenges:
            await self._challenge_weeks(session, challenges, now)
        if recaps:
            await self._recaps(session, recaps)
        owed = [plan for plan in posting if plan.subject_id is not None]
        if owed:
            post_ids = await Outbox.enqueue_many(
                session,
                [
                    (plan.row.server_id, plan.kind.value, plan.subject_id, plan.row.channel_id)
                    for plan in owed
                    if plan.subject_id is not None
                ],
                now=utcnow(),  # delivery runs on real time, whatever the schedule's clock says
            )
            for plan, post_id in zip(owed, post_ids, strict=True):
                plan.post_id = post_id
        for plan in posting:
            if plan.subject_id is None:
                log.info(
                    "Server %s: the %s of week %s is out already",
                    plan.row.server_id,
                    plan.kind.value,
                    plan.week,
                )
        return [
            Decision(plan.row.server_id, plan.kind, plan.due, plan.week, plan.post_id)
            for plan in plans
        ]

    @staticmethod
    async def _challenge_weeks(session: AsyncSession, plans: list[_Plan], now: datetime) -> None:
        choices = await server_choices(session, [plan.row.server_id for plan in plans], now)
        values = []
        for plan in plans:
            server_id = plan.row.server_id
            chosen = await pick(session, server_id, plan.week, now, choices[server_id])
            if chosen is None:
                continue
            values.append(
                {
                    "server_id": server_id,
                    "week": plan.week,
                    "challenge_key": chosen.key,
                    "habit": chosen.habit.value,
                    "difficulty": chosen.difficulty,
                    "title": chosen.title,
                    "text": chosen.text,
                    "rule_kind": chosen.rule.kind.value if chosen.rule else None,
                    "rule_count": chosen.rule.count if chosen.rule else None,
                    "channel_id": plan.row.channel_id,
                    "scheduled_for": plan.scheduled_for,
                    "starts_at": now,
                    "ends_at": plan.row.next_run_at,
                    "late": plan.due is Due.LATE,
                    "checked_at": None,
                    "closed": False,
                }
            )
        if not values:
            return
        # One statement compiled once, its rows sent together (SQLAlchemy's insertmanyvalues).
        inserted = await session.execute(
            dialect_insert(session, ChallengeWeek)
            .on_conflict_do_nothing(index_elements=[ChallengeWeek.server_id, ChallengeWeek.week])
            .returning(ChallengeWeek.server_id, ChallengeWeek.id),
            values,
        )
        ids = {row[0]: row[1] for row in inserted.all()}
        for plan in plans:
            plan.subject_id = ids.get(plan.row.server_id)

    @staticmethod
    async def _recaps(session: AsyncSession, plans: list[_Plan]) -> None:
        inserted = await session.execute(
            dialect_insert(session, Recap)
            .on_conflict_do_nothing(index_elements=[Recap.server_id, Recap.week])
            .returning(Recap.server_id, Recap.id),
            [
                {
                    "server_id": plan.row.server_id,
                    "week": plan.week,
                    "channel_id": plan.row.channel_id,
                    "scheduled_for": plan.scheduled_for,
                    # The seven days up to when it was due (a late recap: the same week).
                    "starts_at": plan.scheduled_for - timedelta(days=7),
                    "ends_at": plan.scheduled_for,
                    "late": plan.due is Due.LATE,
                }
                for plan in plans
            ],
        )
        ids = {row[0]: row[1] for row in inserted.all()}
        for plan in plans:
            plan.subject_id = ids.get(plan.row.server_id)


@dataclass(slots=True)
class _Plan:
    """One due schedule on its way to a decision."""

    row: WeeklySchedule
    kind: PostKind
    due: Due
    week: int
    scheduled_for: datetime
    subject_id: int | None = None
    post_id: int | None = None
