"""Which challenge a server gets this week: the habit first, then a challenge not seen lately.

Two ways to choose the habit, set per server: rotate through the four in the order a network
grows, or aim at the community's weakest habit (the one the fewest active members practised in
the last four weeks). Within the habit, a challenge used in the last 8 weeks is not repeated;
the rest take turns in an order fixed per server and week, so two processes pick alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.challenges.bank import BANK, Challenge
from bot.challenges.rules import CompletionRule, RuleKind
from bot.db import ActivityEvent, ChallengeWeek, CustomChallenge, HiddenChallenge, Server
from bot.habits import HABIT_ORDER, Habit

NO_REPEAT_WEEKS = 8
EASY_WEEKS = 4
ACTIVE_WINDOW = timedelta(days=28)
CUSTOM_PREFIX = "custom:"


@dataclass(frozen=True, slots=True)
class Pick:
    """A challenge as it will be posted (copied into the week's row)."""

    key: str
    habit: Habit
    difficulty: str
    title: str
    text: str
    rule: CompletionRule | None

    @classmethod
    def of(cls, challenge: Challenge) -> Pick:
        return cls(
            challenge.key,
            challenge.habit,
            challenge.difficulty.value,
            challenge.title,
            challenge.text,
            challenge.rule,
        )

    @classmethod
    def of_custom(cls, row: CustomChallenge) -> Pick:
        return cls(
            f"{CUSTOM_PREFIX}{row.id}", Habit(row.habit), row.difficulty, row.title, row.text, None
        )


def rule_of(kind: str | None, count: int | None) -> CompletionRule | None:
    if kind is None:
        return None
    try:
        return CompletionRule(RuleKind(kind), count or 1)
    except ValueError:  # a rule this version no longer knows: only self-reports count
        return None


async def available(session: AsyncSession, server_id: int) -> list[Pick]:
    """The server's challenges: the built-in bank minus what admins removed, plus their own."""
    hidden = set(
        (
            await session.scalars(
                select(HiddenChallenge.challenge_key).where(HiddenChallenge.server_id == server_id)
            )
        ).all()
    )
    custom = (
        await session.scalars(
            select(CustomChallenge)
            .where(CustomChallenge.server_id == server_id)
            .order_by(CustomChallenge.id)
        )
    ).all()
    return [Pick.of(c) for c in BANK if c.key not in hidden] + [Pick.of_custom(c) for c in custom]


async def weakest_habit(session: AsyncSession, server_id: int, now: datetime) -> Habit:
    """The habit the fewest members practised in the last four weeks (earliest habit on ties)."""
    rows = (
        await session.execute(
            select(ActivityEvent.habit, func.count(func.distinct(ActivityEvent.member_id)))
            .where(
                ActivityEvent.server_id == server_id,
                ActivityEvent.occurred_at >= now - ACTIVE_WINDOW,
                ActivityEvent.habit.is_not(None),
            )
            .group_by(ActivityEvent.habit)
        )
    ).all()
    practised: dict[str | None, int] = {row[0]: row[1] for row in rows}
    return min(
        HABIT_ORDER, key=lambda habit: (practised.get(habit.value, 0), HABIT_ORDER.index(habit))
    )


def _turn(server_id: int, week: int, count: int) -> int:
    digest = hashlib.blake2b(f"{server_id}:{week}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % count


def difficulty_for(weeks_before: int) -> str | None:
    """Start gently: easy challenges in a server's first month, medium in its second."""
    if weeks_before < EASY_WEEKS:
        return "easy"
    if weeks_before < 2 * EASY_WEEKS:
        return "medium"
    return None


def choose(
    candidates: Sequence[Pick],
    habit: Habit,
    recent: Sequence[str],
    server_id: int,
    week: int,
    *,
    difficulty: str | None = None,
) -> Pick | None:
    """The habit's challenges not used lately (at ``difficulty`` when there is one); else any
    habit's; else the least recently used."""
    fresh = [pick for pick in candidates if pick.key not in recent]
    of_habit = [pick for pick in fresh if pick.habit is habit]
    gentle = [pick for pick in of_habit if pick.difficulty == difficulty]
    for pool in (gentle, of_habit, fresh):
        if pool:
            return pool[_turn(server_id, week, len(pool))]
    if not candidates:
        return None
    # Everything was used in the last 8 weeks (a server that removed most of the bank).
    order = {key: position for position, key in enumerate(recent)}
    return max(candidates, key=lambda pick: order.get(pick.key, -1))


async def pick_for_week(
    session: AsyncSession, server_id: int, week: int, now: datetime
) -> Pick | None:
    previous = (
        await session.execute(
            select(ChallengeWeek.challenge_key, ChallengeWeek.habit)
            .where(ChallengeWeek.server_id == server_id, ChallengeWeek.week < week)
            .order_by(ChallengeWeek.week.desc())
            .limit(NO_REPEAT_WEEKS)
        )
    ).all()
    mode = await session.scalar(select(Server.challenge_selection).where(Server.id == server_id))
    if mode == "weakest":
        habit = await weakest_habit(session, server_id, now)
    elif previous:
        last = Habit(previous[0].habit)
        habit = HABIT_ORDER[(HABIT_ORDER.index(last) + 1) % len(HABIT_ORDER)]
    else:
        habit = HABIT_ORDER[0]
    recent = [row.challenge_key for row in previous]
    weeks_before = await session.scalar(
        select(func.count()).where(ChallengeWeek.server_id == server_id, ChallengeWeek.week < week)
    )
    return choose(
        await available(session, server_id),
        habit,
        recent,
        server_id,
        week,
        difficulty=difficulty_for(weeks_before or 0),
    )
