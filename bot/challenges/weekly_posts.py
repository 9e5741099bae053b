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

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.challenges.schedules import PostKind, weekly_time_of
from bot.challenges.selection import pick_for_week
from bot.db import ChallengeWeek, Database, Recap, WeeklySchedule, utcnow
from bot.db.upsert import dialect_insert
from bot.scheduling.clock import Clock
from bot.scheduling.weekly import Due, due_state, spread, week_number
from bot.services.outbox import Outbox

log = logging.getLogger(__name__)

DEFAULT_GRACE = timedelta(hours=24)
TAKEOVER_AFTER = timedelta(minutes=2)
# Schedules looked at per transaction: a fan-out to thousands of servers commits in steps.
BATCH = 200


@dataclass(frozen=True, slots=True)
class Decision:
    server_id: int
    kind: PostKind
    due: Due
    week: int
    # The outbox post owed (None when skipped, or when this week was posted already).
    post_id: int | None


def owns_all(_server_id: int) -> bool:
    return True


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

    async def next_wake(self, owns: Callable[[int], bool] = owns_all) -> datetime | None:
        """When the next schedule falls due for this process (its spread included)."""
        async with self._database.read() as session:
            rows = (
                await session.execute(
                    select(WeeklySchedule.server_id, WeeklySchedule.next_run_at)
                    .order_by(WeeklySchedule.next_run_at)
                    .limit(BATCH)
                )
            ).all()
        times = [
            row.next_run_at
            + (spread(row.server_id) if owns(row.server_id) else self.takeover_after)
            for row in rows
        ]
        return min(times) if times else None

    async def decide_due(self, owns: Callable[[int], bool] = owns_all) -> list[Decision]:
        """Decide every post that is due now; returns what was decided (posts owed, skips)."""
        decisions: list[Decision] = []
        while True:
            batch, more = await self._decide_batch(owns)
            decisions.extend(batch)
            if not more:
                return decisions

    async def _decide_batch(self, owns: Callable[[int], bool]) -> tuple[list[Decision], bool]:
        now = self._clock()
        async with self._database.write() as session:
            query = (
                select(WeeklySchedule)
                .where(WeeklySchedule.next_run_at <= now)
                .order_by(WeeklySchedule.next_run_at)
            )
            if not self._database.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = (await session.scalars(query.limit(BATCH))).all()
            decisions = []
            for row in rows:
                wait = spread(row.server_id) if owns(row.server_id) else self.takeover_after
                if row.next_run_at + wait > now:
                    continue
                decisions.append(await self._decide(session, row, now))
        return decisions, len(rows) == BATCH and bool(decisions)

    async def _decide(self, session: AsyncSession, row: WeeklySchedule, now: datetime) -> Decision:
        weekly = weekly_time_of(row)
        scheduled_for = row.next_run_at
        kind = PostKind(row.kind)
        due = due_state(scheduled_for, now, self.grace)
        week = week_number(weekly.local_date_of(scheduled_for))
        row.next_run_at = weekly.next_after(max(now, scheduled_for))
        if due is Due.SKIP:
            log.info(
                "Server %s: the %s of week %s was due at %s, more than %s ago; skipping to %s",
                row.server_id,
                kind.value,
                week,
                scheduled_for,
                self.grace,
                row.next_run_at,
            )
            return Decision(row.server_id, kind, due, week, None)
        late = due is Due.LATE
        if kind is PostKind.CHALLENGE:
            subject_id = await self._challenge_week(session, row, week, scheduled_for, now, late)
        else:
            subject_id = await self._recap(session, row, week, scheduled_for, now, late)
        if subject_id is None:
            log.info("Server %s: the %s of week %s is out already", row.server_id, kind, week)
            return Decision(row.server_id, kind, due, week, None)
        post_id, _ = await Outbox.enqueue(
            session,
            server_id=row.server_id,
            kind=kind.value,
            subject_id=subject_id,
            channel_id=row.channel_id,
            now=utcnow(),  # delivery runs on real time, whatever the schedule's clock says
        )
        return Decision(row.server_id, kind, due, week, post_id)

    @staticmethod
    async def _challenge_week(
        session: AsyncSession,
        row: WeeklySchedule,
        week: int,
        scheduled_for: datetime,
        now: datetime,
        late: bool,
    ) -> int | None:
        pick = await pick_for_week(session, row.server_id, week, now)
        if pick is None:
            return None
        inserted = await session.execute(
            dialect_insert(session, ChallengeWeek)
            .values(
                server_id=row.server_id,
                week=week,
                challenge_key=pick.key,
                habit=pick.habit.value,
                difficulty=pick.difficulty,
                title=pick.title,
                text=pick.text,
                rule_kind=pick.rule.kind.value if pick.rule else None,
                rule_count=pick.rule.count if pick.rule else None,
                channel_id=row.channel_id,
                scheduled_for=scheduled_for,
                starts_at=now,
                # The deadline: the next post (next_run_at was advanced already).
                ends_at=row.next_run_at,
                late=late,
            )
            .on_conflict_do_nothing(index_elements=[ChallengeWeek.server_id, ChallengeWeek.week])
            .returning(ChallengeWeek.id)
        )
        return inserted.scalar_one_or_none()

    @staticmethod
    async def _recap(
        session: AsyncSession,
        row: WeeklySchedule,
        week: int,
        scheduled_for: datetime,
        now: datetime,
        late: bool,
    ) -> int | None:
        inserted = await session.execute(
            dialect_insert(session, Recap)
            .values(
                server_id=row.server_id,
                week=week,
                channel_id=row.channel_id,
                scheduled_for=scheduled_for,
                # The seven days up to when it was due (a late recap covers the same week).
                starts_at=scheduled_for - timedelta(days=7),
                ends_at=scheduled_for,
                late=late,
            )
            .on_conflict_do_nothing(index_elements=[Recap.server_id, Recap.week])
            .returning(Recap.id)
        )
        return inserted.scalar_one_or_none()
