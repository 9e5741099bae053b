"""The ties graph and conversation weeks of a server, kept in step with the ledger.

After each batch of signals, every pair the batch touched is recomputed from its interactions in
the ledger (see ``conversations``): withdrawn credit (a reaction removed, a message deleted)
is handled the same way as new credit, and ``rebuild`` replays a whole server to the same rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import ActivityEvent, ConversationWeek, Tie
from bot.habits import INTERACTION_KINDS, EventKind
from bot.services.conversations import (
    Interaction,
    conversation_weeks,
    pair_of,
    tie_summary,
)

_KINDS = [kind.value for kind in INTERACTION_KINDS]
# Ids per IN list: well inside both backends' bound-parameter limits.
_IN_CHUNK = 400


def _interaction(row: Any) -> Interaction:
    """A ledger row as an interaction; a message in a thread is also a turn there."""
    thread = row.channel_id if row.kind == EventKind.THREAD_MESSAGE.value else None
    return Interaction(row.occurred_at, row.member_id, row.other_member_id, thread)


async def store_pairs(
    session: AsyncSession, server_id: int, pairs: Iterable[tuple[int, int]]
) -> None:
    """Recompute the tie and conversation weeks of each pair from its interactions.

    One read of the pairs' interactions, then one delete and one insert per table, in chunks.
    """
    wanted = {pair_of(*pair) for pair in pairs}
    if not wanted:
        return
    people = sorted({member for pair in wanted for member in pair})
    found: defaultdict[tuple[int, int], list[Interaction]] = defaultdict(list)
    for start in range(0, len(people), _IN_CHUNK):
        chunk = people[start : start + _IN_CHUNK]
        rows = await session.execute(
            select(
                ActivityEvent.occurred_at,
                ActivityEvent.member_id,
                ActivityEvent.other_member_id,
                ActivityEvent.channel_id,
                ActivityEvent.kind,
            ).where(
                ActivityEvent.server_id == server_id,
                ActivityEvent.member_id.in_(chunk),
                ActivityEvent.other_member_id.in_(people),
                ActivityEvent.kind.in_(_KINDS),
            )
        )
        for row in rows:
            pair = pair_of(row.member_id, row.other_member_id)
            if pair in wanted:
                found[pair].append(_interaction(row))
    ordered = sorted(wanted)
    for start in range(0, len(ordered), _IN_CHUNK):
        pairs_chunk = ordered[start : start + _IN_CHUNK]
        await session.execute(
            delete(Tie).where(
                Tie.server_id == server_id, tuple_(Tie.member_a, Tie.member_b).in_(pairs_chunk)
            )
        )
        await session.execute(
            delete(ConversationWeek).where(
                ConversationWeek.server_id == server_id,
                tuple_(ConversationWeek.member_a, ConversationWeek.member_b).in_(pairs_chunk),
            )
        )
    ties: list[dict[str, Any]] = []
    weeks: list[dict[str, Any]] = []
    for (a, b), interactions in found.items():
        tie = tie_summary(interactions)
        if tie is None:
            continue
        ties.append(
            {
                "server_id": server_id,
                "member_a": a,
                "member_b": b,
                "first_at": tie.first_at,
                "last_at": tie.last_at,
                "a_to_b": tie.a_to_b,
                "b_to_a": tie.b_to_a,
            }
        )
        weeks.extend(
            {"server_id": server_id, "member_a": a, "member_b": b, "week": week}
            for week in sorted(conversation_weeks(interactions))
        )
    if ties:
        await session.execute(insert(Tie), ties)
    if weeks:
        await session.execute(insert(ConversationWeek), weeks)


async def rebuild(session: AsyncSession, server_id: int) -> None:
    """Replay the server's whole ledger into its ties and conversation weeks."""
    pairs = (
        await session.execute(
            select(ActivityEvent.member_id, ActivityEvent.other_member_id)
            .where(
                ActivityEvent.server_id == server_id,
                ActivityEvent.kind.in_(_KINDS),
                ActivityEvent.other_member_id.is_not(None),
            )
            .distinct()
        )
    ).all()
    await session.execute(delete(Tie).where(Tie.server_id == server_id))
    await session.execute(delete(ConversationWeek).where(ConversationWeek.server_id == server_id))
    await store_pairs(session, server_id, [(row[0], row[1]) for row in pairs if row[1] is not None])
