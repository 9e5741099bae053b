"""Replies and deletions as a bot without the message content intent sees them."""

from __future__ import annotations

import discord
import pytest

from emulator import P

from .conftest import Harness
from .passive import collect, start_passive_bot, wait_for


async def test_a_reply_carries_reference_and_author_but_no_content(harness: Harness) -> None:
    emu = harness.emu
    bot, frames = await start_passive_bot(harness)
    received: list[discord.Message] = collect(bot, "message")
    question = await emu.send_message(harness.general.id, harness.ana.id, "how do you plan?")
    answer = await emu.send_message(harness.general.id, harness.ben.id, "backwards", question.id)
    await wait_for(lambda: len(received) == 2)

    reply = received[1]
    assert reply.type is discord.MessageType.reply
    assert reply.author.id == harness.ben.id
    assert reply.channel.id == harness.general.id
    assert reply.content == ""
    assert reply.reference is not None
    assert reply.reference.message_id == question.id
    assert reply.reference.channel_id == harness.general.id
    assert reply.reference.guild_id == harness.guild.id
    resolved = reply.reference.resolved
    assert isinstance(resolved, discord.Message)
    assert resolved.author.id == harness.ana.id
    assert resolved.content == ""  # the referenced message is hidden as well

    raw = frames.of("MESSAGE_CREATE")[1]
    assert raw["id"] == str(answer.id)
    assert raw["type"] == 19
    assert raw["message_reference"] == {
        "type": 0,
        "message_id": str(question.id),
        "channel_id": str(harness.general.id),
        "guild_id": str(harness.guild.id),
    }
    assert raw["referenced_message"]["id"] == str(question.id)
    assert raw["referenced_message"]["author"]["id"] == str(harness.ana.id)
    assert "guild_id" not in raw["referenced_message"]  # referenced messages are plain
    assert (raw["content"], raw["embeds"], raw["attachments"]) == ("", [], [])
    assert raw["author"]["id"] == str(harness.ben.id)
    assert raw["member"]["roles"] == []
    assert raw["guild_id"] == str(harness.guild.id)
    assert [m["id"] for m in raw["mentions"]] == [str(harness.ana.id)]  # the reply ping


async def test_replies_to_the_bot_show_its_text_and_the_ping_one_too(harness: Harness) -> None:
    emu = harness.emu
    bot, frames = await start_passive_bot(harness)
    channel = bot.get_channel(harness.general.id)
    assert isinstance(channel, discord.TextChannel)
    card = await channel.send("Share one idea today")
    await emu.send_message(harness.general.id, harness.ana.id, "here is mine", card.id)
    await emu.send_message(
        harness.general.id, harness.ben.id, "quiet reply", card.id, mention_author=False
    )
    await wait_for(lambda: len(frames.of("MESSAGE_CREATE")) == 3)
    pinged, quiet = frames.of("MESSAGE_CREATE")[1:]
    assert pinged["content"] == "here is mine"  # mentions the bot: readable without the intent
    assert pinged["referenced_message"]["content"] == "Share one idea today"
    assert quiet["content"] == ""
    assert quiet["mentions"] == []
    assert quiet["referenced_message"]["content"] == "Share one idea today"


async def test_content_intent_keeps_reply_content(harness: Harness) -> None:
    emu = harness.emu
    _, frames = await start_passive_bot(harness, message_content=True)
    question = await emu.send_message(harness.general.id, harness.ana.id, "question")
    await emu.send_message(harness.general.id, harness.ben.id, "answer", question.id)
    await wait_for(lambda: len(frames.of("MESSAGE_CREATE")) == 2)
    raw = frames.of("MESSAGE_CREATE")[1]
    assert raw["content"] == "answer"
    assert raw["referenced_message"]["content"] == "question"


async def test_replies_must_point_into_the_same_channel(harness: Harness) -> None:
    emu = harness.emu
    elsewhere = await emu.send_message(harness.announcements.id, harness.ana.id, "news")
    with pytest.raises(ValueError, match="cannot reply"):
        await emu.send_message(harness.general.id, harness.ben.id, "re", elsewhere.id)


async def test_authors_and_moderators_delete_messages(harness: Harness) -> None:
    emu = harness.emu
    bot, frames = await start_passive_bot(harness)
    deleted: list[discord.RawMessageDeleteEvent] = collect(bot, "raw_message_delete")
    cached: list[discord.Message] = collect(bot, "message_delete")
    own = await emu.send_message(harness.general.id, harness.ana.id, "oops")
    other = await emu.send_message(harness.general.id, harness.ana.id, "spam")
    await wait_for(lambda: len(frames.of("MESSAGE_CREATE")) == 2)

    await emu.delete_message(own.id, harness.ana.id)
    with pytest.raises(PermissionError):
        await emu.delete_message(other.id, harness.ben.id)
    moderators = emu.create_role(harness.guild.id, "Mods", permissions=int(P.MANAGE_MESSAGES))
    emu.add_member(harness.guild.id, harness.ben.id, roles=(moderators.id,))
    await emu.delete_message(other.id, harness.ben.id)
    with pytest.raises(ValueError, match="unknown message"):
        await emu.delete_message(other.id, harness.ben.id)

    await wait_for(lambda: len(deleted) == 2)
    assert frames.of("MESSAGE_DELETE") == [
        {"id": str(m.id), "channel_id": str(harness.general.id), "guild_id": str(harness.guild.id)}
        for m in (own, other)
    ]
    assert [(e.message_id, e.channel_id, e.guild_id) for e in deleted] == [
        (own.id, harness.general.id, harness.guild.id),
        (other.id, harness.general.id, harness.guild.id),
    ]
    assert [m.id for m in cached] == [own.id, other.id]  # the cached messages were found
    assert emu.messages_in(harness.general.id) == []


async def test_a_reply_to_a_deleted_message_resolves_to_deleted(harness: Harness) -> None:
    emu = harness.emu
    bot, _ = await start_passive_bot(harness)
    question = await emu.send_message(harness.general.id, harness.ana.id, "q")
    answer = await emu.send_message(harness.general.id, harness.ben.id, "a", question.id)
    await emu.delete_message(question.id, harness.ana.id)
    channel = bot.get_channel(harness.general.id)
    assert isinstance(channel, discord.TextChannel)
    fetched = await channel.fetch_message(answer.id)
    assert fetched.reference is not None
    assert isinstance(fetched.reference.resolved, discord.DeletedReferencedMessage)
    assert fetched.reference.message_id == question.id


async def test_bulk_deletes_by_a_moderator_and_by_the_bot(harness: Harness) -> None:
    emu = harness.emu
    bot, frames = await start_passive_bot(harness)
    bulk: list[discord.RawBulkMessageDeleteEvent] = collect(bot, "raw_bulk_message_delete")
    posted = [
        await emu.send_message(harness.general.id, harness.ana.id, f"spam {i}") for i in range(4)
    ]
    with pytest.raises(PermissionError):
        await emu.bulk_delete_messages(
            harness.general.id, [m.id for m in posted[:2]], harness.ben.id
        )
    await emu.bulk_delete_messages(harness.general.id, [m.id for m in posted[:2]], harness.owner.id)
    role = emu.bot_role(harness.guild.id, harness.app.bot_user.id)
    assert role is not None
    emu.edit_role(role.id, permissions=int(P.SEND_MESSAGES | P.MANAGE_MESSAGES))
    channel = bot.get_channel(harness.general.id)
    assert isinstance(channel, discord.TextChannel)
    await wait_for(lambda: channel.permissions_for(channel.guild.me).manage_messages)
    await channel.delete_messages([discord.Object(m.id) for m in posted[2:]])

    await wait_for(lambda: len(bulk) == 2)
    assert frames.of("MESSAGE_DELETE_BULK")[0] == {
        "ids": [str(posted[0].id), str(posted[1].id)],
        "channel_id": str(harness.general.id),
        "guild_id": str(harness.guild.id),
    }
    assert [e.message_ids for e in bulk] == [
        {posted[0].id, posted[1].id},
        {m.id for m in posted[2:]},
    ]
    assert emu.messages_in(harness.general.id) == []


async def test_nothing_arrives_from_channels_the_bot_cannot_see(harness: Harness) -> None:
    emu = harness.emu
    _, frames = await start_passive_bot(harness)
    role = emu.bot_role(harness.guild.id, harness.app.bot_user.id)
    assert role is not None
    emu.set_permission_overwrite(harness.announcements.id, role.id, deny=P.VIEW_CHANNEL)
    hidden = await emu.send_message(harness.announcements.id, harness.ana.id, "staff only")
    await emu.add_reaction(harness.announcements.id, hidden.id, harness.ben.id, "👀")
    await emu.create_thread(harness.announcements.id, harness.ana.id, "Staff thread", hidden.id)
    await emu.delete_message(hidden.id, harness.ana.id)
    await emu.send_message(harness.general.id, harness.ana.id, "visible")
    await wait_for(lambda: frames.of("MESSAGE_CREATE"))
    assert [m["channel_id"] for m in frames.of("MESSAGE_CREATE")] == [str(harness.general.id)]
    for event in ("MESSAGE_REACTION_ADD", "THREAD_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE"):
        assert frames.of(event) == [], event
