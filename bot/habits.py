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
    # Passive signals, from what members do in the server anyway (metadata only).
    # A reply to another member's message (other_member_id: the replied-to author).
    REPLY = "reply"
    # A message in a thread, answering whoever spoke there last (other_member_id), if anyone.
    THREAD_MESSAGE = "thread_message"
    # A reaction added to another member's message; removing it deletes the event.
    REACTION = "reaction"
    # A thread started by the member.
    THREAD_CREATED = "thread_created"
    # A question asked with /ask.
    ASK = "ask"
    # A message by another member in an ask's thread (other_member_id: the asker).
    ANSWER = "answer"
    # The asker marked the member's answer helpful (other_member_id: the asker).
    HELPFUL_ANSWER = "helpful_answer"
    # The member marked someone's answer to their ask helpful (other_member_id: the helper).
    MARKED_HELPFUL = "marked_helpful"


# The signals in which one member reaches another: what ties and conversations are made of.
INTERACTION_KINDS: tuple[EventKind, ...] = (
    EventKind.REPLY,
    EventKind.THREAD_MESSAGE,
    EventKind.REACTION,
)
