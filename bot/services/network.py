"""The ties graph and conversation weeks of a server, kept in step with the ledger.

After each batch of signals, every pair the batch touched is recomputed from its interactions in
the ledger (see ``conversations``): withdrawn credit (a reaction removed, a message deleted)
is handled the same way as new credit, and ``rebuild`` replays a whole server to the same rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, insert, select
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


def _interaction(row: Any) -> Interaction:
    """A ledger row as an interaction; a message in a thread is also a turn there."""
    thread = row.channel_id if row.kind == EventKind.THREAD_MESSAGE.value else None
    return Interaction(row.occurred_at, row.member_id, row.other_member_id, thread)


async def _store(
    session: AsyncSession, server_id: int, pair: tuple[int, int], found: list[Interaction]
) -> None:
    a, b = pair
    same_pair = (Tie.server_id == server_id) & (Tie.member_a == a) & (Tie.member_b == b)
    await session.execute(delete(Tie).where(same_pair))
    await session.execute(
        delete(ConversationWeek).where(
            ConversationWeek.server_id == server_id,
            ConversationWeek.member_a == a,
            ConversationWeek.member_b == b,
        )
    )
    tie = tie_summary(found)
    if tie is None:
        return
    await session.execute(
        insert(Tie).values(
            server_id=server_id,
            member_a=a,
            member_b=b,
            first_at=tie.first_at,
            last_at=tie.last_at,
            a_to_b=tie.a_to_b,
            b_to_a=tie.b_to_a,
        )
    )
    weeks = conversation_weeks(found)
    if weeks:
        await session.execute(
            insert(ConversationWeek),
            [
                {"server_id": server_id, "member_a": a, "member_b": b, "week": week}
                for week in sorted(weeks)
            ],
        )


async def refresh_pairs(
    session: AsyncSession, server_id: int, pairs: Iterable[tuple[int, int]]
) -> None:
    """Recompute the tie and conversation weeks of each pair from its interactions."""
    for a, b in {pair_of(*pair) for pair in pairs}:
        # One indexed lookup per direction: an OR of the two would make SQLite scan the server.
        found: list[Interaction] = []
        for actor, target in ((a, b), (b, a)):
            rows = (
                await session.execute(
                    select(
                        ActivityEvent.occurred_at,
                        ActivityEvent.member_id,
                        ActivityEvent.other_member_id,
                        ActivityEvent.channel_id,
                        ActivityEvent.kind,
                    ).where(
                        ActivityEvent.server_id == server_id,
                        ActivityEvent.member_id == actor,
                        ActivityEvent.other_member_id == target,
                        ActivityEvent.kind.in_(_KINDS),
                    )
                )
            ).all()
            found.extend(_interaction(row) for row in rows)
        await _store(session, server_id, (a, b), found)


async def rebuild(session: AsyncSession, server_id: int) -> None:
    """Replay the server's whole ledger into its ties and conversation weeks."""
    rows = (
        await session.execute(
            select(
                ActivityEvent.occurred_at,
                ActivityEvent.member_id,
                ActivityEvent.other_member_id,
                ActivityEvent.channel_id,
                ActivityEvent.kind,
            ).where(
                ActivityEvent.server_id == server_id,
                ActivityEvent.kind.in_(_KINDS),
                ActivityEvent.other_member_id.is_not(None),
            )
        )
    ).all()
    by_pair: defaultdict[tuple[int, int], list[Interaction]] = defaultdict(list)
    for row in rows:
        interaction = _interaction(row)
        by_pair[pair_of(interaction.actor, interaction.target)].append(interaction)
    await session.execute(delete(Tie).where(Tie.server_id == server_id))
    await session.execute(delete(ConversationWeek).where(ConversationWeek.server_id == server_id))
    for pair, found in by_pair.items():
        await _store(session, server_id, pair, found)
