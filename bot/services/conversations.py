"""From who reached out to whom, to ties, conversations and relationships: the product's rules.

Pure functions over one pair's interactions, so the same code serves the incremental update
after each batch of signals and a full replay of the ledger, and can be property-tested:

- a **tie** between two members exists once either reached the other (a reply, a reaction, a
  turn in a thread); it is *reciprocated* once both did;
- a **conversation** is A→B and B→A within 72 hours, or at least 3 turns between the same two
  people in one thread; conversations are counted per pair and week (UTC, Monday first), which is
  what the levels and relationships need, and withdrawing a signal can only remove weeks;
- a **relationship** is the same partner in conversations in at least 3 distinct weeks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

CONVERSATION_WINDOW = timedelta(hours=72)
THREAD_TURNS = 3
RELATIONSHIP_WEEKS = 3


@dataclass(frozen=True, slots=True)
class Interaction:
    """``actor`` reached out to ``target`` at ``at`` (in ``thread_id``, for a turn in a thread)."""

    at: datetime
    actor: int
    target: int
    thread_id: int | None = None


@dataclass(frozen=True, slots=True)
class TieSummary:
    member_a: int  # the smaller id
    member_b: int
    first_at: datetime
    last_at: datetime
    a_to_b: int
    b_to_a: int

    @property
    def reciprocated(self) -> bool:
        return self.a_to_b > 0 and self.b_to_a > 0


def _in_order(interactions: Iterable[Interaction]) -> list[Interaction]:
    """Oldest first, with a fixed order for equal times, so arrival order never matters."""
    return sorted(
        interactions, key=lambda item: (item.at, item.actor, item.target, item.thread_id or 0)
    )


def pair_of(one: int, other: int) -> tuple[int, int]:
    return (one, other) if one < other else (other, one)


def week_of(moment: datetime) -> date:
    """The Monday (UTC) of ``moment``'s week."""
    day = moment.date()
    return day - timedelta(days=day.weekday())


def tie_summary(interactions: Iterable[Interaction]) -> TieSummary | None:
    """One pair's tie, or None when neither reached the other."""
    ordered = _in_order(interactions)
    if not ordered:
        return None
    a, b = pair_of(ordered[0].actor, ordered[0].target)
    return TieSummary(
        member_a=a,
        member_b=b,
        first_at=ordered[0].at,
        last_at=ordered[-1].at,
        a_to_b=sum(1 for item in ordered if item.actor == a),
        b_to_a=sum(1 for item in ordered if item.actor == b),
    )


def conversation_weeks(interactions: Iterable[Interaction]) -> set[date]:
    """The weeks in which one pair had a conversation, whatever order the signals came in.

    A conversation belongs to the week of the interaction that completes it; a thread exchange
    of three turns or more to every week in which it continues.
    """
    ordered = _in_order(interactions)
    weeks: set[date] = set()
    # Reciprocation: each interaction answered by the other member within the window.
    last_by_actor: dict[int, datetime] = {}
    for item in ordered:
        answered = last_by_actor.get(item.target)
        if answered is not None and item.at - answered <= CONVERSATION_WINDOW:
            weeks.add(week_of(item.at))
        last_by_actor[item.actor] = item.at
    # Turns in one thread: each interaction there is one change of speaker, after a first turn.
    by_thread: defaultdict[int, list[Interaction]] = defaultdict(list)
    for item in ordered:
        if item.thread_id is not None:
            by_thread[item.thread_id].append(item)
    for turns in by_thread.values():
        # From its third turn on, a thread exchange is a conversation in every week it goes on
        # (so withdrawing a turn can end one, never start or move one).
        weeks.update(week_of(turn.at) for turn in turns[THREAD_TURNS - 2 :])
    return weeks


def is_relationship(weeks: Iterable[date]) -> bool:
    return len(set(weeks)) >= RELATIONSHIP_WEEKS
