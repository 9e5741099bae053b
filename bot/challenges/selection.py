"""Which challenge a server gets this week: the habit first, then a challenge not seen lately.

Two ways to choose the habit, set per server: rotate through the four in the order a network
grows, or aim at the community's weakest habit (the one the fewest active members practised in
the last four weeks). Within the habit, a challenge used in the last 8 weeks is not repeated;
the rest take turns in an order fixed per server and week, so two processes pick alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.challenges.bank import BANK, Challenge
from bot.challenges.rules import CompletionRule, RuleKind
from bot.db import (
    ActivityEvent,
    ChallengeWeek,
    CustomChallenge,
    HiddenChallenge,
    Server,
    utcnow,
)
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


@dataclass(slots=True)
class ServerChoices:
    """What picking a server's challenge needs, read for many servers at once."""

    selection: str = "rotate"
    # The last weeks' challenges, most recent first: (week, key, habit).
    previous: list[tuple[int, str, str]] = field(default_factory=list)
    hidden: set[str] = field(default_factory=set)
    custom: list[Pick] = field(default_factory=list)

    def candidates(self) -> list[Pick]:
        return [pick for pick in built_in_picks() if pick.key not in self.hidden] + self.custom

    def before(self, week: int) -> list[tuple[int, str, str]]:
        return [entry for entry in self.previous if entry[0] < week][:NO_REPEAT_WEEKS]


@cache
def built_in_picks() -> tuple[Pick, ...]:
    return tuple(Pick.of(challenge) for challenge in BANK)


# Weeks of history read to avoid repeats (with room for a skipped week or two).
HISTORY = timedelta(days=7 * (NO_REPEAT_WEEKS + 4))


async def server_choices(
    session: AsyncSession, server_ids: Collection[int], now: datetime, *, history: bool = True
) -> dict[int, ServerChoices]:
    """Four queries for any number of servers: a fan-out decides thousands in batches.

    Without ``history`` the last weeks are not read (listing the bank needs none).
    """
    ids = list(server_ids)
    found = {server_id: ServerChoices() for server_id in ids}
    for server_id, selection in await session.execute(
        select(Server.id, Server.challenge_selection).where(Server.id.in_(ids))
    ):
        found[server_id].selection = selection
    if history:
        for server_id, week, key, habit in await session.execute(
            select(
                ChallengeWeek.server_id,
                ChallengeWeek.week,
                ChallengeWeek.challenge_key,
                ChallengeWeek.habit,
            )
            .where(ChallengeWeek.server_id.in_(ids), ChallengeWeek.scheduled_for >= now - HISTORY)
            .order_by(ChallengeWeek.server_id, ChallengeWeek.week.desc())
        ):
            found[server_id].previous.append((week, key, habit))
    for server_id, key in await session.execute(
        select(HiddenChallenge.server_id, HiddenChallenge.challenge_key).where(
            HiddenChallenge.server_id.in_(ids)
        )
    ):
        found[server_id].hidden.add(key)
    for row in await session.scalars(
        select(CustomChallenge)
        .where(CustomChallenge.server_id.in_(ids))
        .order_by(CustomChallenge.id)
    ):
        found[row.server_id].custom.append(Pick.of_custom(row))
    return found


async def available(session: AsyncSession, server_id: int) -> list[Pick]:
    """The server's challenges: the built-in bank minus what admins removed, plus their own."""
    choices = await server_choices(session, [server_id], utcnow(), history=False)
    return choices[server_id].candidates()


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
    choices = (await server_choices(session, [server_id], now))[server_id]
    return await pick(session, server_id, week, now, choices)


async def pick(
    session: AsyncSession, server_id: int, week: int, now: datetime, choices: ServerChoices
) -> Pick | None:
    """The challenge for ``week``, given what ``server_choices`` read for the server."""
    previous = choices.before(week)
    if choices.selection == "weakest":
        habit = await weakest_habit(session, server_id, now)
    elif previous:
        last = Habit(previous[0][2])
        habit = HABIT_ORDER[(HABIT_ORDER.index(last) + 1) % len(HABIT_ORDER)]
    else:
        habit = HABIT_ORDER[0]
    return choose(
        choices.candidates(),
        habit,
        [key for _, key, _ in previous],
        server_id,
        week,
        # The last 8 weeks were read: enough to tell a server's first and second month.
        difficulty=difficulty_for(len(previous)),
    )
