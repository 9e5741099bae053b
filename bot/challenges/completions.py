"""Who did this week's challenge: seen in the ledger, or said so with "I did it".

A member's self-report counts once per challenge. Where the challenge has a rule, the ledger is
checked during the week (each hour, and when a member looks) and once more at the deadline, so
members who did it are credited without pressing anything.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.challenges.rules import CompletionRule, members_who_completed
from bot.challenges.selection import rule_of
from bot.db import ChallengeCompletion, ChallengeWeek, Database, Member, OutboxPost, utcnow
from bot.db.upsert import dialect_insert
from bot.habits import Habit
from bot.scheduling.clock import Clock
from bot.services.answers import AnswerTicket, OwedAnswer, PendingAnswers
from bot.services.members import Actor, touch_actor
from bot.services.pausing import not_paused

log = logging.getLogger(__name__)


class Reported(enum.StrEnum):
    """What pressing "I did it" (or /challenge done) did."""

    VERIFIED = "verified"  # the ledger shows it: credited as done
    COUNTED = "counted"  # credited on the member's word
    ALREADY = "already"  # credited before; nothing changed
    ENDED = "ended"  # past the deadline; nothing changed
    NO_CHALLENGE = "none"  # no challenge running in this server


@dataclass(frozen=True, slots=True)
class WeekChallenge:
    """A week's challenge as posted, and where."""

    id: int
    server_id: int
    week: int
    habit: Habit
    difficulty: str
    title: str
    text: str
    rule: CompletionRule | None
    starts_at: datetime
    ends_at: datetime
    late: bool
    channel_id: int
    message_id: int | None
    completions: int

    def is_open(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


def _week_challenge(row: ChallengeWeek, message_id: int | None, completions: int) -> WeekChallenge:
    return WeekChallenge(
        id=row.id,
        server_id=row.server_id,
        week=row.week,
        habit=Habit(row.habit),
        difficulty=row.difficulty,
        title=row.title,
        text=row.text,
        rule=rule_of(row.rule_kind, row.rule_count),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        late=row.late,
        channel_id=row.channel_id,
        message_id=message_id,
        completions=completions,
    )


async def _credit(
    session: AsyncSession, week: ChallengeWeek, member_ids: set[int], how: str, now: datetime
) -> int:
    if not member_ids:
        return 0
    # Only members the bot knows (the ledger only holds those); one statement for all.
    known = set(
        (
            await session.scalars(
                select(Member.user_id).where(
                    Member.server_id == week.server_id,
                    Member.user_id.in_(member_ids),
                    not_paused(Member.server_id, Member.user_id),  # nothing new while paused
                )
            )
        ).all()
    )
    rows = [
        {
            "challenge_week_id": week.id,
            "member_id": member_id,
            "server_id": week.server_id,
            "how": how,
            "completed_at": now,
        }
        for member_id in sorted(known)
    ]
    if not rows:
        return 0
    result = await session.execute(
        dialect_insert(session, ChallengeCompletion)
        .values(rows)
        .on_conflict_do_nothing(
            index_elements=[ChallengeCompletion.challenge_week_id, ChallengeCompletion.member_id]
        )
    )
    return max(getattr(result, "rowcount", 0) or 0, 0)


async def _current_week(
    session: AsyncSession, server_id: int, now: datetime
) -> ChallengeWeek | None:
    """The server's latest challenge started by ``now``."""
    return await session.scalar(
        select(ChallengeWeek)
        .where(ChallengeWeek.server_id == server_id, ChallengeWeek.starts_at <= now)
        .order_by(ChallengeWeek.week.desc())
        .limit(1)
    )


async def _credited(session: AsyncSession, row: ChallengeWeek, member_id: int) -> str | None:
    """How the member was credited ("auto" or "self"), if they were."""
    return await session.scalar(
        select(ChallengeCompletion.how).where(
            ChallengeCompletion.challenge_week_id == row.id,
            ChallengeCompletion.member_id == member_id,
        )
    )


async def _seen_in_ledger(
    session: AsyncSession, row: ChallengeWeek, member_id: int, until: datetime
) -> bool:
    """Whether what the member did up to ``until`` meets the week's rule (False: no rule)."""
    rule = rule_of(row.rule_kind, row.rule_count)
    if rule is None:
        return False
    met = await members_who_completed(
        session,
        rule,
        server_id=row.server_id,
        start=row.starts_at,
        end=min(row.ends_at, until),
        member_ids=[member_id],
    )
    return member_id in met


class ChallengeCompletions:
    def __init__(self, database: Database, clock: Clock = utcnow) -> None:
        self._database = database
        self._clock = clock

    async def to_post(self, week_id: int) -> WeekChallenge | None:
        """The week's challenge as its post shows it: one read (a fan-out posts thousands)."""
        async with self._database.read() as session:
            row = await session.get(ChallengeWeek, week_id)
        return None if row is None else _week_challenge(row, None, 0)

    async def week(self, week_id: int) -> WeekChallenge | None:
        async with self._database.read() as session:
            row = await session.get(ChallengeWeek, week_id)
            return None if row is None else await self._view(session, row)

    async def current(self, server_id: int) -> WeekChallenge | None:
        """The challenge running now (the latest one started), if any."""
        async with self._database.read() as session:
            row = await _current_week(session, server_id, self._clock())
            return None if row is None else await self._view(session, row)

    @staticmethod
    async def _view(session: AsyncSession, row: ChallengeWeek) -> WeekChallenge:
        message_id = await session.scalar(
            select(OutboxPost.message_id).where(
                OutboxPost.server_id == row.server_id,
                OutboxPost.kind == "challenge",
                OutboxPost.subject_id == row.id,
            )
        )
        completions = await session.scalar(
            select(func.count()).where(ChallengeCompletion.challenge_week_id == row.id)
        )
        return _week_challenge(row, message_id, completions or 0)

    async def how_done(self, week_id: int, member_id: int) -> str | None:
        """ "auto" or "self" if the member did it, else None (the rule is checked first)."""
        async with self._database.read() as session:
            row = await session.get(ChallengeWeek, week_id)
            if row is None:
                return None
            credited = await _credited(session, row, member_id)
            if credited is not None:
                return credited
            return "auto" if await _seen_in_ledger(session, row, member_id, self._clock()) else None

    async def report_done(
        self, actor: Actor, week_id: int | None, *, answer: AnswerTicket
    ) -> OwedAnswer:
        """The member says they did the challenge (``None``: the server's current one)."""
        now = self._clock()
        async with self._database.write() as session:
            await touch_actor(session, actor, now, unless_paused=True)
            row = (
                await _current_week(session, actor.server_id, now)
                if week_id is None
                else await session.get(ChallengeWeek, week_id)
            )
            outcome = await self._report(session, row, actor, now)
            return await PendingAnswers.store(
                session,
                server_id=actor.server_id,
                member_id=actor.user_id,
                kind="challenge_done",
                subject_id=row.id if row is not None else 0,
                outcome=outcome.value,
                ticket=answer,
            )

    @staticmethod
    async def _report(
        session: AsyncSession, row: ChallengeWeek | None, actor: Actor, now: datetime
    ) -> Reported:
        if row is None or row.server_id != actor.server_id:
            return Reported.NO_CHALLENGE
        if now >= row.ends_at:
            return Reported.ENDED
        if await _credited(session, row, actor.user_id) is not None:
            return Reported.ALREADY
        verified = await _seen_in_ledger(session, row, actor.user_id, now)
        await _credit(session, row, {actor.user_id}, "auto" if verified else "self", now)
        return Reported.VERIFIED if verified else Reported.COUNTED

    async def verify_open(self, owns: Callable[[int], bool] = lambda _server_id: True) -> int:
        """Credit everyone the ledger shows did a running (or just ended) challenge, in the
        servers ``owns`` accepts (each process checks its own shards' servers)."""
        now = self._clock()
        credited = 0
        async with self._database.read() as session:
            rows = (
                await session.execute(
                    select(ChallengeWeek.id, ChallengeWeek.server_id).where(
                        ChallengeWeek.closed.is_(False),
                        ChallengeWeek.starts_at <= now,
                        ChallengeWeek.rule_kind.is_not(None),
                    )
                )
            ).all()
        week_ids = [row.id for row in rows if owns(row.server_id)]
        for week_id in week_ids:
            credited += await self.verify(week_id)
        return credited

    async def verify(self, week_id: int) -> int:
        """Check one week's rule for every member; after its deadline, for the last time."""
        now = self._clock()
        async with self._database.write() as session:
            row = await session.get(ChallengeWeek, week_id)
            if row is None or row.closed:
                return 0
            rule = rule_of(row.rule_kind, row.rule_count)
            credited = 0
            if rule is not None:
                met = await members_who_completed(
                    session,
                    rule,
                    server_id=row.server_id,
                    start=row.starts_at,
                    end=min(now, row.ends_at),
                )
                credited = await _credit(session, row, met, "auto", now)
            row.checked_at = now
            row.closed = now >= row.ends_at
        if credited:
            log.info("Challenge week %s: %d member(s) credited from the ledger", week_id, credited)
        return credited
