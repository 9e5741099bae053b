"""Passive signals become ledger events, ties and conversation weeks; withdrawals undo them."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.db import ActivityEvent, ConversationWeek, Database, Tie
from bot.services.ingest import PassiveIngest
from bot.services.network import rebuild
from bot.services.signals import (
    Author,
    MessagesDeleted,
    MessageSeen,
    ReactionAdded,
    ReactionRemoved,
    Signal,
    ThreadCreated,
)

SERVER = 1001
GENERAL = 5001
THREAD = 6001
NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)  # a Wednesday
ANA, BEN, CAL = Author(11, "Ana"), Author(12, "Ben"), Author(13, "Cal")


def reply(message_id: int, author: Author, to: Author, at: datetime = NOW) -> MessageSeen:
    return MessageSeen(SERVER, "Demo", GENERAL, message_id, author, at, reply_to=to.user_id)


def in_thread(message_id: int, author: Author, at: datetime = NOW) -> MessageSeen:
    return MessageSeen(SERVER, "Demo", THREAD, message_id, author, at, in_thread=True)


def react(message_id: int, reactor: Author, author: Author, emoji: str = "👍") -> ReactionAdded:
    return ReactionAdded(SERVER, "Demo", GENERAL, message_id, reactor, author.user_id, emoji, NOW)


async def ingest(database: Database, *signals: Signal) -> None:
    service = PassiveIngest(database)
    for signal in signals:
        await service.offer(signal)
    await service.stop()  # a clean stop writes everything queued


async def ties(database: Database) -> list[tuple[int, int, int, int]]:
    async with database.read() as session:
        rows = await session.execute(
            select(Tie.member_a, Tie.member_b, Tie.a_to_b, Tie.b_to_a).order_by(
                Tie.member_a, Tie.member_b
            )
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows.all()]


async def weeks(database: Database) -> list[tuple[int, int, date]]:
    async with database.read() as session:
        rows = await session.execute(
            select(ConversationWeek.member_a, ConversationWeek.member_b, ConversationWeek.week)
        )
        return sorted((row[0], row[1], row[2]) for row in rows.all())


async def events(database: Database) -> int:
    async with database.read() as session:
        return await session.scalar(select(func.count()).select_from(ActivityEvent)) or 0


async def test_a_reply_makes_a_tie_and_a_reply_back_a_conversation(database: Database) -> None:
    await ingest(database, reply(1, BEN, ANA))
    assert await ties(database) == [(11, 12, 0, 1)]  # Ben reached Ana: not reciprocated yet
    assert await weeks(database) == []
    await ingest(database, reply(2, ANA, BEN, NOW + timedelta(hours=71)))
    assert await ties(database) == [(11, 12, 1, 1)]
    assert await weeks(database) == [(11, 12, date(2026, 11, 30))]


async def test_a_reply_after_72_hours_is_no_conversation(database: Database) -> None:
    await ingest(database, reply(1, BEN, ANA), reply(2, ANA, BEN, NOW + timedelta(hours=73)))
    assert await ties(database) == [(11, 12, 1, 1)]
    assert await weeks(database) == []


async def test_three_turns_in_a_thread_are_a_conversation(database: Database) -> None:
    await ingest(
        database,
        ThreadCreated(SERVER, "Demo", THREAD, ANA, NOW),
        in_thread(1, BEN, NOW + timedelta(days=1)),
        in_thread(2, BEN, NOW + timedelta(days=2)),  # Ben again: no new turn
        in_thread(3, ANA, NOW + timedelta(days=8)),  # days apart: only the thread makes it one
    )
    assert await ties(database) == [(11, 12, 1, 1)]
    assert await weeks(database) == [(11, 12, date(2026, 12, 7))]


async def test_the_same_signal_twice_counts_once(database: Database) -> None:
    await ingest(database, reply(1, BEN, ANA), react(1, CAL, BEN), reply(1, BEN, ANA))
    await ingest(database, react(1, CAL, BEN))  # a gateway resume replaying it later
    assert await events(database) == 2
    assert await ties(database) == [(11, 12, 0, 1), (12, 13, 0, 1)]


async def test_a_replayed_message_seen_answering_someone_else_changes_nothing(
    database: Database,
) -> None:
    """A replay after a restart may see whom a message answers differently (the thread's last
    speaker is remembered in memory): the ledger keeps the message as first stored, and the
    ties follow the ledger, not the replay."""
    await ingest(database, reply(1, BEN, ANA))
    await ingest(database, reply(1, BEN, CAL), reply(2, CAL, BEN))
    assert await events(database) == 2
    assert await ties(database) == [(11, 12, 0, 1), (12, 13, 0, 1)]  # Cal's reply only


async def test_self_replies_and_self_reactions_reach_nobody(database: Database) -> None:
    await ingest(database, reply(1, ANA, ANA), react(1, ANA, ANA))
    assert await ties(database) == []
    assert await events(database) == 0


async def test_ordinary_messages_are_not_recorded(database: Database) -> None:
    await ingest(database, MessageSeen(SERVER, "Demo", GENERAL, 9, ANA, NOW))
    assert await events(database) == 0


async def test_removing_a_reaction_or_deleting_a_message_withdraws_its_credit(
    database: Database,
) -> None:
    await ingest(database, reply(1, BEN, ANA), reply(2, ANA, BEN), react(2, CAL, ANA))
    assert len(await ties(database)) == 2
    assert len(await weeks(database)) == 1
    await ingest(database, ReactionRemoved(SERVER, 2, CAL.user_id, "👍"))
    assert await ties(database) == [(11, 12, 1, 1)]
    await ingest(database, MessagesDeleted(SERVER, (2,)))  # Ana's answer is gone
    assert await ties(database) == [(11, 12, 0, 1)]
    assert await weeks(database) == []  # no conversation without it


async def test_a_replay_of_the_ledger_rebuilds_the_same_graph(database: Database) -> None:
    await ingest(
        database,
        reply(1, BEN, ANA),
        reply(2, ANA, BEN, NOW + timedelta(hours=5)),
        react(2, CAL, ANA),
        ThreadCreated(SERVER, "Demo", THREAD, CAL, NOW),
        in_thread(3, BEN, NOW + timedelta(hours=1)),
        in_thread(4, CAL, NOW + timedelta(hours=2)),
        in_thread(5, BEN, NOW + timedelta(days=9)),
        ReactionRemoved(SERVER, 2, CAL.user_id, "👍"),
    )
    incremental = (await ties(database), await weeks(database))
    async with database.write() as session:
        await rebuild(session, SERVER)
    assert (await ties(database), await weeks(database)) == incremental
    assert incremental[1]  # something to compare


async def test_a_full_buffer_makes_the_next_signal_wait_for_room(database: Database) -> None:
    service = PassiveIngest(database, capacity=2)  # not started: nothing flushes by itself
    await service.offer(reply(1, BEN, ANA))
    await service.offer(reply(2, ANA, BEN))
    third = asyncio.create_task(service.offer(reply(3, CAL, ANA)))
    await asyncio.sleep(0.05)
    assert not third.done()  # back-pressure: the buffer does not grow past its bound
    assert service.queued == 2
    assert service.backlog == 3
    await service.flush()
    await asyncio.wait_for(third, 1)
    assert service.queued == 1
    await service.stop()
    assert await events(database) == 3


async def test_past_the_overflow_the_reader_is_held_until_a_batch_is_stored(
    database: Database,
) -> None:
    """offer_nowait runs inside discord.py's dispatch: with the queue and the overflow full it
    holds the reading thread (true back-pressure) until the writer's thread frees room."""
    service = PassiveIngest(database, capacity=2, batch_size=2)
    service.start()  # the writer's own thread stores batches as they fill
    for message_id in range(1, 8):
        service.offer_nowait(reply(message_id, BEN if message_id % 2 else ANA, CAL))
        assert service.queued <= 2
        assert service.backlog - service.queued <= 2  # the overflow stays bounded too
    await service.stop()
    assert await events(database) == 7


async def test_the_reader_is_not_held_while_the_bots_own_write_has_the_lock(
    database: Database,
) -> None:
    """A write on the bot's loop (an hourly clean-up, an admin's command) may hold SQLite's
    lock when a burst fills the queue: holding the loop then would keep that write from ever
    committing, and the writer's thread from ever storing: every hold would run to its limit."""
    if not database.is_sqlite:
        pytest.skip("SQLite's single writer lock")
    service = PassiveIngest(database, capacity=2, batch_size=2)
    service.start()
    async with database.write():
        started = time.monotonic()
        for message_id in range(1, 8):
            service.offer_nowait(reply(message_id, BEN if message_id % 2 else ANA, CAL))
        assert time.monotonic() - started < 1  # not one 10 s hold
    await service.stop()
    assert await events(database) == 7
