"""Each server's thresholds for the four habits' levels, defaulting to the product model's.

A community of ten retired teachers and a district of two thousand should not need the same
five colleagues to call Connect "Practicing"; admins adjust the figures with ``/pln thresholds``.
Progress reads them on every ``/progress``, so they are cached for a minute per server
(a change made in this process shows at once).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from bot.db import Database, Server, utcnow
from bot.habits import Habit
from bot.services.members import Actor, touch_actor

CACHE_SECONDS = 60.0
# Connect and Contribute count active weeks out of the last four.
WINDOW_WEEKS = 4
MOST = 100


@dataclass(frozen=True, slots=True)
class LevelThresholds:
    """The figure each level needs, in the unit ``HABIT_UNITS`` names for the habit."""

    started: int
    practicing: int
    habit: int


DEFAULTS: Mapping[Habit, LevelThresholds] = {
    Habit.CONNECT: LevelThresholds(started=1, practicing=5, habit=3),
    Habit.CONTRIBUTE: LevelThresholds(started=1, practicing=3, habit=3),
    Habit.CONVERSE: LevelThresholds(started=1, practicing=3, habit=3),
    Habit.REQUEST: LevelThresholds(started=1, practicing=1, habit=3),
}

# What each figure counts, for admins choosing them.
HABIT_UNITS: Mapping[Habit, tuple[str, str, str]] = {
    Habit.CONNECT: (
        "colleagues reached",
        "colleagues reached",
        f"weeks (of the last {WINDOW_WEEKS}) with a new or renewed tie",
    ),
    Habit.CONTRIBUTE: (
        "shares or answers",
        "shares or answers, one found useful",
        f"weeks (of the last {WINDOW_WEEKS}) with a contribution",
    ),
    Habit.CONVERSE: (
        "conversations",
        "conversation partners",
        "weeks of conversation with the same colleague",
    ),
    Habit.REQUEST: (
        "questions asked",
        "questions answered by a colleague",
        "questions with an answer marked helpful",
    ),
}


class ThresholdError(ValueError):
    """Figures that make no sense together; the message says why, for the admin."""


def highest(habit: Habit, level: str) -> int:
    """The largest figure a level may need (weeks out of a four-week window at most)."""
    if level == "habit" and habit in (Habit.CONNECT, Habit.CONTRIBUTE):
        return WINDOW_WEEKS
    return MOST


@dataclass(frozen=True, slots=True)
class Thresholds:
    by_habit: Mapping[Habit, LevelThresholds]

    def of(self, habit: Habit) -> LevelThresholds:
        return self.by_habit[habit]

    @classmethod
    def defaults(cls) -> Thresholds:
        return cls(dict(DEFAULTS))

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any] | None) -> Thresholds:
        """What a server chose over the defaults; figures out of range are ignored."""
        by_habit = dict(DEFAULTS)
        for habit in Habit:
            chosen = (stored or {}).get(habit.value)
            if not isinstance(chosen, Mapping):
                continue
            figures = {
                level: value
                for level, value in chosen.items()
                if level in ("started", "practicing", "habit")
                and isinstance(value, int)
                and 1 <= value <= highest(habit, level)
            }
            try:
                by_habit[habit] = checked(habit, replace(DEFAULTS[habit], **figures))
            except ThresholdError:
                continue
        return cls(by_habit)

    def to_stored(self) -> dict[str, dict[str, int]]:
        """Only what differs from the defaults, so later default changes still reach servers."""
        stored: dict[str, dict[str, int]] = {}
        for habit, levels in self.by_habit.items():
            default = DEFAULTS[habit]
            changed = {
                level: getattr(levels, level)
                for level in ("started", "practicing", "habit")
                if getattr(levels, level) != getattr(default, level)
            }
            if changed:
                stored[habit.value] = changed
        return stored


def checked(habit: Habit, levels: LevelThresholds) -> LevelThresholds:
    for level in ("started", "practicing", "habit"):
        value = getattr(levels, level)
        if not 1 <= value <= highest(habit, level):
            raise ThresholdError(
                f"{level.capitalize()} must be between 1 and {highest(habit, level)}."
            )
    # Where two levels count the same thing, a higher level can't need less.
    if habit in (Habit.CONNECT, Habit.CONTRIBUTE) and levels.practicing < levels.started:
        raise ThresholdError("Practicing can't need fewer than Started.")
    return levels


class ThresholdService:
    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._database = database
        self._clock = clock
        self._cache: dict[int, tuple[float, Thresholds]] = {}

    async def thresholds(self, server_id: int) -> Thresholds:
        cached = self._cache.get(server_id)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        async with self._database.read() as session:
            stored = await session.scalar(select(Server.thresholds).where(Server.id == server_id))
        found = Thresholds.from_stored(stored)
        self._cache[server_id] = (time.monotonic(), found)
        return found

    async def set(
        self,
        actor: Actor,
        habit: Habit,
        *,
        started: int | None = None,
        practicing: int | None = None,
        habit_level: int | None = None,
        reset: bool = False,
    ) -> Thresholds:
        """Change one habit's figures (those given); ``reset`` puts back the defaults."""
        async with self._database.write() as session:
            await touch_actor(session, actor, self._clock())
            stored = await session.scalar(
                select(Server.thresholds).where(Server.id == actor.server_id)
            )
            current = Thresholds.from_stored(stored)
            levels = DEFAULTS[habit] if reset else current.of(habit)
            figures = {
                name: value
                for name, value in (
                    ("started", started),
                    ("practicing", practicing),
                    ("habit", habit_level),
                )
                if value is not None
            }
            levels = checked(habit, replace(levels, **figures))
            chosen = Thresholds({**current.by_habit, habit: levels})
            await session.execute(
                update(Server)
                .where(Server.id == actor.server_id)
                .values(thresholds=chosen.to_stored() or None)
            )
        self._cache[actor.server_id] = (time.monotonic(), chosen)
        return chosen
