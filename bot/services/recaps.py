"""What a community did in a week, for the weekly recap: figures read from the ledger.

Nothing is stored per recap beyond its week: the figures are read again when the recap is drawn,
so a member who asked to be forgotten never reappears in a shout-out from a stored copy.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import (
    ActivityEvent,
    Ask,
    ChallengeCompletion,
    ChallengeWeek,
    ConversationWeek,
    Database,
    Member,
    MemberPreferences,
    Recap,
    Tie,
)
from bot.habits import HABIT_ORDER, EventKind, Habit
from bot.services.asks import AskService, OpenAsk
from bot.services.conversations import week_of

# Members seen in this long count as the community the funnel is out of.
COMMUNITY_WINDOW = timedelta(days=90)
TREND_WEEKS = 8
SHOUT_OUTS = 3
OPEN_ASK_AGE = timedelta(hours=48)

# What makes a member "Started" in each habit (the product model's first threshold).
STARTED_BY: dict[Habit, tuple[str, ...]] = {
    Habit.CONNECT: (EventKind.REPLY, EventKind.THREAD_MESSAGE, EventKind.REACTION),
    Habit.CONTRIBUTE: (EventKind.SHARE, EventKind.ANSWER),
    Habit.REQUEST: (EventKind.ASK,),
}
# Given in a shout-out: help others could use.
SHOUT_OUT_KINDS = (EventKind.HELPFUL_ANSWER, EventKind.ANSWER, EventKind.SHARE)


@dataclass(frozen=True, slots=True)
class WeekFigures:
    starts_at: datetime
    active_members: int
    shares: int
    conversations: int
    asks_answered: int


@dataclass(frozen=True, slots=True)
class ShoutOut:
    member_id: int
    name: str
    helpful_answers: int
    answers: int
    shares: int


@dataclass(frozen=True, slots=True)
class ChallengeTally:
    title: str
    habit: Habit
    completions: int


@dataclass(frozen=True, slots=True)
class RecapFigures:
    starts_at: datetime
    ends_at: datetime
    new_ties: int
    shares: int
    conversations: int
    asks_answered: int
    median_first_answer: timedelta | None
    community_size: int
    # Members at "Started" or beyond, per habit in order.
    funnel: tuple[tuple[Habit, int], ...]
    challenge: ChallengeTally | None
    shout_outs: tuple[ShoutOut, ...]
    open_asks: tuple[OpenAsk, ...]
    open_asks_total: int
    trend: tuple[WeekFigures, ...]  # oldest first, this week last


async def _count(session: AsyncSession, query: object) -> int:
    return int(await session.scalar(query) or 0)  # type: ignore[call-overload]


@dataclass(frozen=True, slots=True)
class RecapWeek:
    id: int
    server_id: int
    week: int
    starts_at: datetime
    ends_at: datetime
    late: bool


class RecapService:
    def __init__(self, database: Database, asks: AskService) -> None:
        self._database = database
        self._asks = asks

    async def recap(self, recap_id: int) -> RecapWeek | None:
        async with self._database.read() as session:
            row = await session.get(Recap, recap_id)
        if row is None:
            return None
        return RecapWeek(row.id, row.server_id, row.week, row.starts_at, row.ends_at, row.late)

    async def figures(self, server_id: int, starts_at: datetime, ends_at: datetime) -> RecapFigures:
        async with self._database.read() as session:
            week = await self._week(session, server_id, starts_at, ends_at)
            trend = [
                await self._week(
                    session,
                    server_id,
                    starts_at - timedelta(days=7 * k),
                    ends_at - timedelta(days=7 * k),
                )
                for k in range(TREND_WEEKS - 1, 0, -1)
            ]
            answered = (
                await session.execute(
                    select(Ask.created_at, Ask.first_answer_at).where(
                        Ask.server_id == server_id,
                        Ask.first_answer_at >= starts_at,
                        Ask.first_answer_at < ends_at,
                    )
                )
            ).all()
            waits = [row.first_answer_at - row.created_at for row in answered]
            new_ties = await _count(
                session,
                select(func.count()).where(
                    Tie.server_id == server_id, Tie.first_at >= starts_at, Tie.first_at < ends_at
                ),
            )
            community, funnel = await self._funnel(session, server_id, ends_at)
            challenge = await self._challenge(session, server_id, ends_at)
            shout_outs = await self._shout_outs(session, server_id, starts_at, ends_at)
            open_total = await _count(
                session,
                select(func.count()).where(
                    Ask.server_id == server_id,
                    Ask.first_answer_at.is_(None),
                    Ask.created_at <= ends_at - OPEN_ASK_AGE,
                ),
            )
        open_asks = [
            ask
            for ask in await self._asks.open_asks(server_id, limit=10)
            if ask.created_at <= ends_at - OPEN_ASK_AGE
        ][:3]
        return RecapFigures(
            starts_at=starts_at,
            ends_at=ends_at,
            new_ties=new_ties,
            shares=week.shares,
            conversations=week.conversations,
            asks_answered=len(answered),
            median_first_answer=(
                timedelta(seconds=statistics.median(w.total_seconds() for w in waits))
                if waits
                else None
            ),
            community_size=community,
            funnel=funnel,
            challenge=challenge,
            shout_outs=shout_outs,
            open_asks=tuple(open_asks),
            open_asks_total=open_total,
            trend=(*trend, week),
        )

    @staticmethod
    async def _week(
        session: AsyncSession, server_id: int, starts_at: datetime, ends_at: datetime
    ) -> WeekFigures:
        in_week = (
            ActivityEvent.server_id == server_id,
            ActivityEvent.occurred_at >= starts_at,
            ActivityEvent.occurred_at < ends_at,
        )
        active, shares = (
            await session.execute(
                select(
                    func.count(func.distinct(ActivityEvent.member_id)),
                    func.coalesce(
                        func.sum(case((ActivityEvent.kind == EventKind.SHARE, 1), else_=0)), 0
                    ),
                ).where(*in_week)
            )
        ).one()
        # Conversations are kept per (UTC) week: those of the week the recap's days end in.
        conversations = await _count(
            session,
            select(func.count()).where(
                ConversationWeek.server_id == server_id,
                ConversationWeek.week == week_of(ends_at - timedelta(seconds=1)),
            ),
        )
        answered = await _count(
            session,
            select(func.count()).where(
                Ask.server_id == server_id,
                Ask.first_answer_at >= starts_at,
                Ask.first_answer_at < ends_at,
            ),
        )
        return WeekFigures(starts_at, int(active), int(shares), conversations, answered)

    @staticmethod
    async def _funnel(
        session: AsyncSession, server_id: int, ends_at: datetime
    ) -> tuple[int, tuple[tuple[Habit, int], ...]]:
        community = (
            Member.server_id == server_id,
            Member.left_at.is_(None),
            Member.last_seen_at >= ends_at - COMMUNITY_WINDOW,
        )
        size = await _count(session, select(func.count()).where(*community))
        started: dict[Habit, int] = {}
        for habit, kinds in STARTED_BY.items():
            started[habit] = await _count(
                session,
                select(func.count(func.distinct(ActivityEvent.member_id)))
                .join(
                    Member,
                    and_(
                        Member.server_id == ActivityEvent.server_id,
                        Member.user_id == ActivityEvent.member_id,
                    ),
                )
                .where(
                    *community,
                    ActivityEvent.server_id == server_id,
                    ActivityEvent.kind.in_([str(kind) for kind in kinds]),
                    ActivityEvent.occurred_at < ends_at,
                ),
            )
        partners = (
            select(ConversationWeek.member_a.label("member"))
            .where(ConversationWeek.server_id == server_id)
            .union(select(ConversationWeek.member_b).where(ConversationWeek.server_id == server_id))
            .subquery()
        )
        started[Habit.CONVERSE] = await _count(
            session,
            select(func.count())
            .select_from(partners)
            .join(Member, and_(Member.server_id == server_id, Member.user_id == partners.c.member))
            .where(*community),
        )
        return size, tuple((habit, started[habit]) for habit in HABIT_ORDER)

    @staticmethod
    async def _challenge(
        session: AsyncSession, server_id: int, ends_at: datetime
    ) -> ChallengeTally | None:
        row = (
            await session.execute(
                select(ChallengeWeek.id, ChallengeWeek.title, ChallengeWeek.habit)
                .where(ChallengeWeek.server_id == server_id, ChallengeWeek.starts_at < ends_at)
                .order_by(ChallengeWeek.week.desc())
                .limit(1)
            )
        ).one_or_none()
        if row is None:
            return None
        done = await _count(
            session,
            select(func.count()).where(ChallengeCompletion.challenge_week_id == row.id),
        )
        return ChallengeTally(row.title, Habit(row.habit), done)

    @staticmethod
    async def _shout_outs(
        session: AsyncSession, server_id: int, starts_at: datetime, ends_at: datetime
    ) -> tuple[ShoutOut, ...]:
        """Members whose help others could use this week, unless they opted out."""
        counts = {
            kind: func.sum(case((ActivityEvent.kind == str(kind), 1), else_=0))
            for kind in SHOUT_OUT_KINDS
        }
        score = (
            3 * counts[EventKind.HELPFUL_ANSWER]
            + counts[EventKind.ANSWER]
            + counts[EventKind.SHARE]
        )
        rows = (
            await session.execute(
                select(
                    ActivityEvent.member_id,
                    Member.display_name,
                    counts[EventKind.HELPFUL_ANSWER].label("helpful"),
                    counts[EventKind.ANSWER].label("answers"),
                    counts[EventKind.SHARE].label("shares"),
                )
                .join(
                    Member,
                    and_(
                        Member.server_id == ActivityEvent.server_id,
                        Member.user_id == ActivityEvent.member_id,
                    ),
                )
                .outerjoin(
                    MemberPreferences,
                    and_(
                        MemberPreferences.server_id == ActivityEvent.server_id,
                        MemberPreferences.user_id == ActivityEvent.member_id,
                    ),
                )
                .where(
                    ActivityEvent.server_id == server_id,
                    ActivityEvent.occurred_at >= starts_at,
                    ActivityEvent.occurred_at < ends_at,
                    ActivityEvent.kind.in_([str(kind) for kind in SHOUT_OUT_KINDS]),
                    Member.left_at.is_(None),
                    or_(
                        MemberPreferences.shoutouts.is_(None), MemberPreferences.shoutouts.is_(True)
                    ),
                )
                .group_by(ActivityEvent.member_id, Member.display_name)
                .order_by(score.desc(), ActivityEvent.member_id)
                .limit(SHOUT_OUTS)
            )
        ).all()
        return tuple(
            ShoutOut(
                row.member_id,
                row.display_name,
                int(row.helpful or 0),
                int(row.answers or 0),
                int(row.shares or 0),
            )
            for row in rows
        )
