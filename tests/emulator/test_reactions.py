"""Reactions: user actions, the gateway events a tracking bot gets, and the bot's own reactions."""

from __future__ import annotations

import asyncio

import discord
import pytest

from emulator import P

from .conftest import Harness
from .passive import collect, passive_intents, start_passive_bot, wait_for


async def test_reaction_events_carry_what_discord_documents(harness: Harness) -> None:
    emu = harness.emu
    bot, frames = await start_passive_bot(harness)
    added: list[discord.RawReactionActionEvent] = collect(bot, "raw_reaction_add")
    removed: list[discord.RawReactionActionEvent] = collect(bot, "raw_reaction_remove")
    message = await emu.send_message(harness.general.id, harness.ana.id, "a resource")

    assert await emu.add_reaction(harness.general.id, message.id, harness.ben.id, "🔥")
    assert await emu.remove_reaction(harness.general.id, message.id, harness.ben.id, "🔥")
    await wait_for(lambda: len(added) == 1 and len(removed) == 1)

    raw_add = frames.of("MESSAGE_REACTION_ADD")[0]
    assert set(raw_add) == {
        "user_id", "channel_id", "message_id", "guild_id", "member", "emoji",
        "message_author_id", "burst", "burst_colors", "type",
    }  # fmt: skip
    assert raw_add["emoji"] == {"id": None, "name": "🔥"}
    assert raw_add["member"]["user"]["id"] == str(harness.ben.id)
    assert (raw_add["burst"], raw_add["type"]) == (False, 0)
    raw_remove = frames.of("MESSAGE_REACTION_REMOVE")[0]
    assert set(raw_remove) == {
        "user_id", "channel_id", "message_id", "guild_id", "emoji", "burst", "type",
    }  # fmt: skip

    event = added[0]
    assert (event.user_id, event.channel_id, event.message_id, event.guild_id) == (
        harness.ben.id,
        harness.general.id,
        message.id,
        harness.guild.id,
    )
    assert event.member is not None
    assert event.member.id == harness.ben.id
    assert event.message_author_id == harness.ana.id
    assert str(event.emoji) == "🔥"
    assert event.type is discord.ReactionType.normal
    assert not event.burst
    gone = removed[0]
    assert gone.member is None
    assert gone.message_author_id is None
    assert gone.event_type == "REACTION_REMOVE"


async def test_repeated_reactions_and_removals_change_nothing(harness: Harness) -> None:
    emu = harness.emu
    bot, frames = await start_passive_bot(harness)
    message = await emu.send_message(harness.general.id, harness.ana.id, "hello")
    assert await emu.add_reaction(harness.general.id, message.id, harness.ben.id, "👍")
    assert not await emu.add_reaction(harness.general.id, message.id, harness.ben.id, "👍")
    assert await emu.add_reaction(harness.general.id, message.id, harness.owner.id, "👍")
    assert not await emu.remove_reaction(harness.general.id, message.id, harness.ana.id, "👍")
    await wait_for(lambda: len(frames.of("MESSAGE_REACTION_ADD")) == 2)
    await asyncio.sleep(0.05)
    assert len(frames.of("MESSAGE_REACTION_ADD")) == 2
    assert frames.of("MESSAGE_REACTION_REMOVE") == []
    channel = bot.get_channel(harness.general.id)
    assert isinstance(channel, discord.TextChannel)
    fetched = await channel.fetch_message(message.id)
    assert [(str(r.emoji), r.count, r.me) for r in fetched.reactions] == [("👍", 2, False)]
    record = emu.get_message(message.id)
    assert record is not None
    assert [r.user_ids for r in record.reactions] == [[harness.ben.id, harness.owner.id]]


async def test_the_rich_reaction_event_for_cached_messages(harness: Harness) -> None:
    emu = harness.emu
    bot, _ = await start_passive_bot(harness)
    rich: list[tuple[discord.Reaction, discord.Member]] = collect(bot, "reaction_add")
    received: list[discord.Message] = collect(bot, "message")
    message = await emu.send_message(harness.general.id, harness.ana.id, "cache me")
    await wait_for(lambda: received)
    await emu.add_reaction(harness.general.id, message.id, harness.ben.id, "🎉")
    await wait_for(lambda: rich)
    reaction, user = rich[0]
    assert reaction.message.id == message.id
    assert reaction.count == 1
    assert user.id == harness.ben.id


async def test_custom_emoji_and_invalid_emoji(harness: Harness) -> None:
    emu = harness.emu
    bot, frames = await start_passive_bot(harness)
    added: list[discord.RawReactionActionEvent] = collect(bot, "raw_reaction_add")
    message = await emu.send_message(harness.general.id, harness.ana.id, "custom")
    await emu.add_reaction(harness.general.id, message.id, harness.ben.id, "pln:123456789012345678")
    await emu.add_reaction(
        harness.general.id, message.id, harness.ben.id, "a:party:223456789012345678"
    )
    with pytest.raises(ValueError, match="not an emoji"):
        await emu.add_reaction(harness.general.id, message.id, harness.ben.id, "fire")
    await wait_for(lambda: len(added) == 2)
    assert [f["emoji"] for f in frames.of("MESSAGE_REACTION_ADD")] == [
        {"id": "123456789012345678", "name": "pln"},
        {"id": "223456789012345678", "name": "party", "animated": True},
    ]
    assert added[0].emoji.id == 123456789012345678
    assert added[1].emoji.animated


async def test_reaction_permissions_and_intent(harness: Harness) -> None:
    emu = harness.emu
    intents = passive_intents()
    intents.guild_reactions = False
    _, frames = await start_passive_bot(harness, intents=intents)
    message = await emu.send_message(harness.general.id, harness.ana.id, "react")
    emu.set_permission_overwrite(harness.general.id, harness.guild.id, deny=P.ADD_REACTIONS)
    with pytest.raises(PermissionError):
        await emu.add_reaction(harness.general.id, message.id, harness.ben.id, "👍")
    await emu.add_reaction(harness.general.id, message.id, harness.owner.id, "👍")
    await emu.add_reaction(harness.general.id, message.id, harness.ben.id, "👍")  # joins it
    await emu.send_message(harness.general.id, harness.ana.id, "marker")
    await wait_for(lambda: len(frames.of("MESSAGE_CREATE")) == 2)
    assert frames.of("MESSAGE_REACTION_ADD") == []  # no GUILD_MESSAGE_REACTIONS intent


async def test_reactions_in_threads(harness: Harness) -> None:
    emu = harness.emu
    bot, _ = await start_passive_bot(harness)
    added: list[discord.RawReactionActionEvent] = collect(bot, "raw_reaction_add")
    thread = await emu.create_thread(harness.general.id, harness.ana.id, "Thread")
    post = await emu.send_message(thread.id, harness.ana.id, "in thread")
    await emu.add_reaction(thread.id, post.id, harness.ben.id, "✅")
    await wait_for(lambda: added)
    assert added[0].channel_id == thread.id
    assert added[0].guild_id == harness.guild.id


async def test_the_bot_reacts_and_lists_reactors(harness: Harness) -> None:
    emu = harness.emu
    bot, frames = await start_passive_bot(harness)
    message = await emu.send_message(harness.general.id, harness.ana.id, "great tip")
    await emu.add_reaction(harness.general.id, message.id, harness.ben.id, "🔥")
    channel = bot.get_channel(harness.general.id)
    assert isinstance(channel, discord.TextChannel)
    fetched = await channel.fetch_message(message.id)
    await fetched.add_reaction("🔥")
    await fetched.add_reaction("🙏")
    fetched = await channel.fetch_message(message.id)
    assert [(str(r.emoji), r.count, r.me) for r in fetched.reactions] == [
        ("🔥", 2, True),
        ("🙏", 1, True),
    ]
    users = [u.id async for u in fetched.reactions[0].users()]
    assert sorted(users) == sorted([harness.ben.id, harness.app.bot_user.id])
    await fetched.remove_reaction("🙏", bot.user)  # type: ignore[arg-type]
    await wait_for(lambda: len(frames.of("MESSAGE_REACTION_REMOVE")) == 1)
    assert frames.of("MESSAGE_REACTION_ADD")[1]["user_id"] == str(harness.app.bot_user.id)
    with pytest.raises(discord.HTTPException) as unknown:
        await fetched.add_reaction("fire")
    assert unknown.value.code == 10014
    with pytest.raises(discord.Forbidden):
        await fetched.remove_reaction("🔥", discord.Object(harness.ben.id))  # no MANAGE_MESSAGES
