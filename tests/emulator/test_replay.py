"""Events missed while disconnected come back on RESUME; a duplicate delivery reaches the bot."""

from __future__ import annotations

import asyncio

import discord

from .conftest import Harness
from .passive import collect, start_passive_bot, wait_for


async def test_resume_replays_reactions_and_replies_missed_while_dropped(
    harness: Harness,
) -> None:
    emu = harness.emu
    bot, frames = await start_passive_bot(harness)
    reactions: list[discord.RawReactionActionEvent] = collect(bot, "raw_reaction_add")
    received: list[discord.Message] = collect(bot, "message")
    question = await emu.send_message(harness.general.id, harness.ana.id, "question")
    await wait_for(lambda: len(received) == 1)

    await emu.drop_connections()
    await emu.add_reaction(harness.general.id, question.id, harness.ben.id, "💡")
    reply = await emu.send_message(harness.general.id, harness.ben.id, "answer", question.id)
    await wait_for(lambda: emu.gateway_sessions[0].resumed_count == 1)
    await wait_for(lambda: len(reactions) == 1 and len(received) == 2)

    assert reactions[0].message_id == question.id
    assert reactions[0].user_id == harness.ben.id
    assert received[1].id == reply.id
    assert received[1].type is discord.MessageType.reply
    assert received[1].reference is not None
    assert received[1].reference.message_id == question.id
    assert len(emu.gateway_sessions) == 1  # resumed, not identified again
    order = [f["t"] for f in frames.received]
    # Both came in the replay that precedes RESUMED, once each.
    assert order[-3:] == ["MESSAGE_REACTION_ADD", "MESSAGE_CREATE", "RESUMED"]
    assert order.count("MESSAGE_REACTION_ADD") == 1


async def test_replay_last_delivers_the_same_dispatch_twice(harness: Harness) -> None:
    emu = harness.emu
    bot, frames = await start_passive_bot(harness)
    reactions: list[discord.RawReactionActionEvent] = collect(bot, "raw_reaction_add")
    received: list[discord.Message] = collect(bot, "message")
    message = await emu.send_message(harness.general.id, harness.ana.id, "hello")
    await emu.add_reaction(harness.general.id, message.id, harness.ben.id, "👋")
    await wait_for(lambda: len(reactions) == 1)

    assert emu.replay_last(2) == 2
    await wait_for(lambda: len(reactions) == 2 and len(received) == 2)
    # discord.py does not deduplicate: both events fire again, with the same sequence numbers.
    assert [m.id for m in received] == [message.id, message.id]
    assert [(r.message_id, r.user_id) for r in reactions] == [(message.id, harness.ben.id)] * 2
    create_seq, reaction_seq = (
        frames.seqs("MESSAGE_CREATE")[0],
        frames.seqs("MESSAGE_REACTION_ADD")[0],
    )
    assert frames.seqs("MESSAGE_CREATE") == [create_seq, create_seq]
    assert frames.seqs("MESSAGE_REACTION_ADD") == [reaction_seq, reaction_seq]
    assert frames.of("MESSAGE_REACTION_ADD")[0] == frames.of("MESSAGE_REACTION_ADD")[1]

    # The client's sequence ends where it was, so a later resume loses nothing.
    assert bot.ws.sequence == emu.gateway_sessions[0].seq
    await emu.drop_connections()
    await emu.remove_reaction(harness.general.id, message.id, harness.ben.id, "👋")
    await wait_for(lambda: emu.gateway_sessions[0].resumed_count == 1)
    await wait_for(lambda: len(frames.of("MESSAGE_REACTION_REMOVE")) == 1)
    await asyncio.sleep(0.05)
    assert len(frames.of("MESSAGE_REACTION_ADD")) == 2  # nothing old replayed by the resume
