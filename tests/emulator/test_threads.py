"""Public threads: starting them, talking in them, and what a tracking bot receives."""

from __future__ import annotations

import discord
import pytest

from emulator import P

from .conftest import Harness
from .passive import collect, start_passive_bot, wait_for


async def test_thread_from_a_message(harness: Harness) -> None:
    emu = harness.emu
    bot, frames = await start_passive_bot(harness)
    created: list[discord.Thread] = collect(bot, "thread_create")
    received: list[discord.Message] = collect(bot, "message")
    idea = await emu.send_message(harness.general.id, harness.ana.id, "an idea")
    thread = await emu.create_thread(
        harness.general.id, harness.ben.id, "Idea thread", message_id=idea.id
    )
    assert thread.id == idea.id  # a thread started from a message has the message's id
    await emu.send_message(thread.id, harness.ana.id, "in the thread")
    await wait_for(lambda: len(created) == 1 and len(received) == 3)

    cached = created[0]
    assert cached.id == thread.id
    assert cached.parent_id == harness.general.id
    assert cached.owner_id == harness.ben.id
    assert cached.type is discord.ChannelType.public_thread
    assert cached.name == "Idea thread"
    raw_thread = frames.of("THREAD_CREATE")[0]
    assert raw_thread["newly_created"] is True
    assert raw_thread["guild_id"] == str(harness.guild.id)
    assert raw_thread["thread_metadata"]["archived"] is False
    assert (raw_thread["message_count"], raw_thread["member_count"]) == (0, 1)

    updated = frames.of("MESSAGE_UPDATE")[0]
    assert updated["id"] == str(idea.id)
    assert updated["flags"] & (1 << 5)  # HAS_THREAD
    assert updated["thread"]["id"] == str(thread.id)

    starter, post = received[1], received[2]
    assert starter.type is discord.MessageType.thread_starter_message
    assert starter.channel is cached
    assert starter.content == ""
    assert starter.reference is not None
    assert starter.reference.message_id == idea.id
    assert starter.reference.channel_id == harness.general.id
    assert isinstance(starter.reference.resolved, discord.Message)
    assert starter.reference.resolved.author.id == harness.ana.id
    raw_starter = frames.of("MESSAGE_CREATE")[1]
    assert raw_starter["type"] == 21
    assert raw_starter["channel_id"] == str(thread.id)
    assert raw_starter["message_reference"] == {
        "type": 0,
        "message_id": str(idea.id),
        "channel_id": str(harness.general.id),
        "guild_id": str(harness.guild.id),
    }

    assert isinstance(post.channel, discord.Thread)
    assert post.channel.id == thread.id
    assert post.channel.parent_id == harness.general.id
    assert post.author.id == harness.ana.id
    assert post.guild is not None
    assert frames.of("MESSAGE_CREATE")[2]["channel_id"] == str(thread.id)
    assert thread.thread is not None
    assert thread.thread.message_count == 1  # the starter message is not counted
    assert set(thread.thread.members) == {harness.ben.id, harness.ana.id}
    with pytest.raises(ValueError, match="already started a thread"):
        await emu.create_thread(harness.general.id, harness.ana.id, "again", message_id=idea.id)


async def test_thread_without_a_message_announces_itself_in_the_parent(harness: Harness) -> None:
    emu = harness.emu
    bot, frames = await start_passive_bot(harness, message_content=True)
    received: list[discord.Message] = collect(bot, "message")
    thread = await emu.create_thread(harness.general.id, harness.ana.id, "Open questions")
    await emu.send_message(thread.id, harness.ben.id, "first!")
    await wait_for(lambda: len(received) == 2)

    announcement, post = received
    assert announcement.type is discord.MessageType.thread_created
    assert announcement.channel.id == harness.general.id
    assert announcement.author.id == harness.ana.id
    assert announcement.content == "Open questions"
    raw = frames.of("MESSAGE_CREATE")[0]
    assert raw["type"] == 18
    assert raw["message_reference"] == {
        "type": 0,
        "channel_id": str(thread.id),
        "guild_id": str(harness.guild.id),
    }
    assert "referenced_message" not in raw
    assert frames.of("THREAD_CREATE")[0]["id"] == str(thread.id)
    assert isinstance(post.channel, discord.Thread)
    assert post.channel.parent_id == harness.general.id
    assert [m.type for m in emu.messages_in(thread.id)] == [0]


async def test_active_threads_arrive_with_the_guild(harness: Harness) -> None:
    emu = harness.emu
    thread = await emu.create_thread(harness.general.id, harness.ana.id, "Before the bot")
    hidden = await emu.create_thread(harness.announcements.id, harness.ana.id, "Hidden")
    role = emu.bot_role(harness.guild.id, harness.app.bot_user.id)
    assert role is not None
    emu.set_permission_overwrite(harness.announcements.id, role.id, deny=P.VIEW_CHANNEL)
    bot, frames = await start_passive_bot(harness)
    guild = bot.get_guild(harness.guild.id)
    assert guild is not None
    cached = guild.get_thread(thread.id)
    assert cached is not None
    assert cached.parent_id == harness.general.id
    assert guild.get_thread(hidden.id) is None
    listed = frames.of("GUILD_CREATE")[0]["threads"]
    assert [t["id"] for t in listed] == [str(thread.id)]
    assert all(str(c["id"]) != str(thread.id) for c in frames.of("GUILD_CREATE")[0]["channels"])


async def test_thread_permissions_come_from_the_parent(harness: Harness) -> None:
    emu = harness.emu
    thread = await emu.create_thread(harness.general.id, harness.ana.id, "Talk")
    everyone = harness.guild.id
    emu.set_permission_overwrite(harness.general.id, everyone, deny=P.SEND_MESSAGES)
    await emu.send_message(thread.id, harness.ben.id, "threads still work")
    with pytest.raises(PermissionError):
        await emu.send_message(harness.general.id, harness.ben.id, "not here")
    emu.set_permission_overwrite(harness.general.id, everyone, deny=P.SEND_MESSAGES_IN_THREADS)
    with pytest.raises(PermissionError):
        await emu.send_message(thread.id, harness.ben.id, "not in threads")
    emu.set_permission_overwrite(harness.general.id, everyone, deny=P.CREATE_PUBLIC_THREADS)
    with pytest.raises(PermissionError):
        await emu.create_thread(harness.general.id, harness.ben.id, "nope")
    with pytest.raises(ValueError, match="1 to 100"):
        await emu.create_thread(harness.announcements.id, harness.ben.id, "x" * 101)


async def test_the_bot_reads_and_posts_in_threads(harness: Harness) -> None:
    emu = harness.emu
    bot, _ = await start_passive_bot(harness)
    idea = await emu.send_message(harness.general.id, harness.ana.id, "idea")
    thread = await emu.create_thread(harness.general.id, harness.ana.id, "Ideas", idea.id)
    await emu.send_message(thread.id, harness.ben.id, "reply in thread")
    await wait_for(lambda: bot.get_channel(thread.id) is not None)
    cached = bot.get_channel(thread.id)
    assert isinstance(cached, discord.Thread)

    sent = await cached.send("Thanks for sharing!")
    assert sent.channel.id == thread.id
    assert emu.messages_in(thread.id)[-1].content == "Thanks for sharing!"
    assert thread.thread is not None
    assert harness.app.bot_user.id in thread.thread.members  # posting joins the thread

    fetched = await bot.fetch_channel(thread.id)
    assert isinstance(fetched, discord.Thread)
    assert fetched.parent_id == harness.general.id
    assert fetched.message_count == 2
    history = [m async for m in cached.history(limit=10)]
    assert [m.type for m in history] == [
        discord.MessageType.default,
        discord.MessageType.default,
        discord.MessageType.thread_starter_message,
    ]

    role = emu.bot_role(harness.guild.id, harness.app.bot_user.id)
    assert role is not None
    emu.set_permission_overwrite(harness.general.id, role.id, deny=P.SEND_MESSAGES_IN_THREADS)
    with pytest.raises(discord.Forbidden) as caught:
        await cached.send("no longer")
    assert caught.value.code == 50013


async def test_deleting_a_thread_and_its_messages(harness: Harness) -> None:
    emu = harness.emu
    bot, frames = await start_passive_bot(harness)
    deleted: list[discord.RawThreadDeleteEvent] = collect(bot, "raw_thread_delete")
    idea = await emu.send_message(harness.general.id, harness.ana.id, "idea")
    thread = await emu.create_thread(harness.general.id, harness.ana.id, "Ideas", idea.id)
    post = await emu.send_message(thread.id, harness.ben.id, "hi")
    starter = emu.messages_in(thread.id)[0]
    with pytest.raises(ValueError, match="cannot be deleted"):
        await emu.delete_message(starter.id, harness.owner.id)
    role = emu.bot_role(harness.guild.id, harness.app.bot_user.id)
    assert role is not None
    emu.edit_role(role.id, permissions=int(P.SEND_MESSAGES | P.MANAGE_MESSAGES))
    with pytest.raises(discord.HTTPException) as system:
        await bot.http.delete_message(thread.id, starter.id)
    assert system.value.code == 50021
    await emu.delete_message(post.id, harness.ben.id)
    assert thread.thread is not None
    assert (thread.thread.message_count, thread.thread.total_message_sent) == (0, 1)
    emu.remove_channel(thread.id)
    await wait_for(lambda: len(deleted) == 1)
    assert frames.of("MESSAGE_DELETE")[0]["channel_id"] == str(thread.id)
    assert frames.of("THREAD_DELETE") == [
        {
            "id": str(thread.id),
            "guild_id": str(harness.guild.id),
            "parent_id": str(harness.general.id),
            "type": 11,
        }
    ]
    assert deleted[0].thread_id == thread.id
