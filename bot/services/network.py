"""The ties graph and conversation weeks of a server, kept in step with the ledger.

After each batch of signals, every pair the batch touched is recomputed from its interactions in
the ledger (see ``conversations``): withdrawn credit (a reaction removed, a message deleted)
is handled the same way as new credit, and ``rebuild`` replays a whole server to the same rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select
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
_TIES = cast(Table, Tie.__table__)
_WEEKS = cast(Table, ConversationWeek.__table__)
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

    One read of the pairs' interactions (in chunks), one delete per table (an executemany of
    primary-key look-ups), one insert per table.
    """
    wanted = {pair_of(*pair) for pair in pairs}
    if not wanted:
        return
    found = await _interactions(session, server_id, wanted)
    keys = [{"p_server": server_id, "p_a": a, "p_b": b} for a, b in sorted(wanted)]
    for table in (_TIES, _WEEKS):
        await session.execute(
            delete(table).where(
                table.c.server_id == bindparam("p_server"),
                table.c.member_a == bindparam("p_a"),
                table.c.member_b == bindparam("p_b"),
            ),
            keys,
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
    # Core inserts on the tables (one executemany each), not the ORM's bulk path.
    if ties:
        await session.execute(insert(_TIES), ties)
    if weeks:
        await session.execute(insert(_WEEKS), weeks)


async def _interactions(
    session: AsyncSession, server_id: int, wanted: set[tuple[int, int]]
) -> defaultdict[tuple[int, int], list[Interaction]]:
    """Every interaction of each wanted pair, in either direction."""
    people = sorted({member for pair in wanted for member in pair})
    found: defaultdict[tuple[int, int], list[Interaction]] = defaultdict(list)
    for start in range(0, len(people), _IN_CHUNK):
        rows = await session.execute(
            select(
                ActivityEvent.occurred_at,
                ActivityEvent.member_id,
                ActivityEvent.other_member_id,
                ActivityEvent.channel_id,
                ActivityEvent.kind,
            ).where(
                ActivityEvent.server_id == server_id,
                ActivityEvent.member_id.in_(people[start : start + _IN_CHUNK]),
                # "+ 0" keeps the index to (server, member): each member's interactions are
                # read once and their other end checked against the list. Two indexed IN lists
                # would make SQLite probe every combination: the batch's people squared.
                (ActivityEvent.other_member_id + 0).in_(people),
                ActivityEvent.kind.in_(_KINDS),
            )
        )
        for row in rows:
            pair = pair_of(row.member_id, row.other_member_id)
            if pair in wanted:
                found[pair].append(_interaction(row))
    return found


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
