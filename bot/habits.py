"""The vocabulary of the product: the four habits, in the order a network grows, and levels."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Habit(StrEnum):
    CONNECT = "connect"
    CONTRIBUTE = "contribute"
    CONVERSE = "converse"
    REQUEST = "request"

    @property
    def display_name(self) -> str:
        return self.value.capitalize()


HABIT_ORDER: tuple[Habit, ...] = (Habit.CONNECT, Habit.CONTRIBUTE, Habit.CONVERSE, Habit.REQUEST)


class Level(IntEnum):
    """How far a member is with one habit; each level includes the ones below it."""

    NOT_STARTED = 0
    STARTED = 1
    PRACTICING = 2
    HABIT = 3


class EventKind(StrEnum):
    """What the activity ledger records. Stored as text, so new kinds need no migration."""

    SHARE = "share"
    # Another member tried to share a link that was already here: evidence the first share was
    # worth having.
    RESHARE = "reshare"
    # Another member pressed "Useful" on a resource card.
    MARKED_USEFUL = "marked_useful"
