"""Threads the bot starts and changes through REST: from a message, without one, private, edits."""

from __future__ import annotations

import discord
import pytest

from emulator import P

from .conftest import Harness
from .passive import collect, start_passive_bot, wait_for


def _thread_route(channel_id: int) -> discord.http.Route:
    return discord.http.Route("POST", "/channels/{channel_id}/threads", channel_id=channel_id)


async def test_the_bot_starts_a_thread_from_its_own_message(harness: Harness) -> None:
    emu = harness.emu
    bot, frames = await start_passive_bot(harness)
    general = bot.get_channel(harness.general.id)
    assert isinstance(general, discord.TextChannel)
    question = await general.send("Who has a good rubric?")
    thread = await question.create_thread(name="Rubrics", auto_archive_duration=4320)

    assert thread.id == question.id
    assert thread.type is discord.ChannelType.public_thread
    assert thread.parent_id == harness.general.id
    assert thread.owner_id == harness.app.bot_user.id
    assert thread.auto_archive_duration == 4320
    record = emu.world.channels[thread.id]
    assert record.thread is not None
    assert harness.app.bot_user.id in record.thread.members
    assert "applied_tags" not in record.to_payload()  # only forum posts carry tags
    source = emu.get_message(question.id)
    assert source is not None
    assert source.flags & (1 << 5)
    [starter] = emu.messages_in(thread.id)
    assert starter.type == 21
    start = next(r for r in emu.requests if r.route.endswith("/threads"))
    assert (start.route, start.status) == (
        "/channels/{channel_id}/messages/{message_id}/threads",
        201,
    )
    await wait_for(lambda: frames.of("MESSAGE_CREATE")[1:])
    events = [f["t"] for f in frames.received][-4:]
    assert events == ["MESSAGE_CREATE", "THREAD_CREATE", "MESSAGE_UPDATE", "MESSAGE_CREATE"]

    await emu.send_message(thread.id, harness.ana.id, "mine")
    answer = await thread.send(
        f"Thanks <@{harness.ana.id}>!", allowed_mentions=discord.AllowedMentions.none()
    )
    assert not emu.get_message(answer.id).pings.any  # type: ignore[union-attr]
    with pytest.raises(discord.HTTPException) as again:
        await question.create_thread(name="Again")
    assert again.value.code == 160004


async def test_the_bot_starts_threads_without_a_message(harness: Harness) -> None:
    emu = harness.emu
    bot, _ = await start_passive_bot(harness)
    general = bot.get_channel(harness.general.id)
    assert isinstance(general, discord.TextChannel)

    public = await general.create_thread(
        name="Weekly questions", type=discord.ChannelType.public_thread
    )
    assert public.type is discord.ChannelType.public_thread
    announcement = emu.messages_in(harness.general.id)[-1]
    assert announcement.type == 18  # THREAD_CREATED, in the parent
    assert announcement.author_id == harness.app.bot_user.id
    assert announcement.content == "Weekly questions"
    assert emu.messages_in(public.id) == []
    await emu.send_message(public.id, harness.ben.id, "first!")

    private = await general.create_thread(name="Just us")  # discord.py's default: private
    assert private.type is discord.ChannelType.private_thread
    assert emu.messages_in(harness.general.id)[-1] is announcement  # no THREAD_CREATED
    with pytest.raises(PermissionError):  # members see a private thread once added
        await emu.send_message(private.id, harness.ben.id, "let me in")

    raw = await bot.http.request(_thread_route(harness.general.id), json={"name": "No type"})
    assert raw["type"] == 12  # documented default when ``type`` is left out
    assert raw["thread_metadata"]["invitable"] is True


async def test_thread_refusals(harness: Harness) -> None:
    emu = harness.emu
    bot, _ = await start_passive_bot(harness)
    general = bot.get_channel(harness.general.id)
    assert isinstance(general, discord.TextChannel)
    message = await general.send("hello")

    async def code_of(**json: object) -> int:
        with pytest.raises(discord.HTTPException) as caught:
            await bot.http.request(_thread_route(harness.general.id), json=json)
        return caught.value.code

    assert await code_of(name="x" * 101, type=11) == 50035
    assert await code_of(name="ok", type=11, auto_archive_duration=30) == 50035
    assert await code_of(name="ok", type=0) == 50035
    thread = await general.create_thread(name="t", type=discord.ChannelType.public_thread)
    with pytest.raises(discord.HTTPException) as nested:
        await bot.http.request(_thread_route(thread.id), json={"name": "in a thread", "type": 11})
    assert nested.value.code == 50024

    role = emu.bot_role(harness.guild.id, harness.app.bot_user.id)
    assert role is not None
    emu.set_permission_overwrite(harness.general.id, role.id, deny=P.CREATE_PUBLIC_THREADS)
    with pytest.raises(discord.Forbidden) as from_message:
        await message.create_thread(name="nope")
    assert from_message.value.code == 50013
    with pytest.raises(discord.Forbidden) as without:
        await general.create_thread(name="nope", type=discord.ChannelType.public_thread)
    assert without.value.code == 50013
    await general.create_thread(name="private still works")  # CREATE_PRIVATE_THREADS

    emu.set_permission_overwrite(harness.general.id, role.id, deny=P.VIEW_CHANNEL)
    with pytest.raises(discord.Forbidden) as hidden:
        await general.create_thread(name="nope", type=discord.ChannelType.public_thread)
    assert hidden.value.code == 50001
    assert len(emu.threads_in(harness.general.id)) == 2


async def test_the_bot_edits_archives_and_reopens_its_threads(harness: Harness) -> None:
    emu = harness.emu
    forum = emu.create_forum_channel(harness.guild.id, "questions", ["open", "answered"])
    bot, frames = await start_passive_bot(harness)
    updates: list[tuple[discord.Thread, discord.Thread]] = collect(bot, "thread_update")
    cached = bot.get_channel(forum.id)
    assert isinstance(cached, discord.ForumChannel)
    open_tag, answered = cached.available_tags
    post, _ = await cached.create_thread(name="Q?", content="?", applied_tags=[open_tag])

    edited = await post.edit(name="Q (solved)", applied_tags=[answered])
    assert edited.name == "Q (solved)"
    assert [t.name for t in edited.applied_tags] == ["answered"]
    archived = await edited.edit(archived=True)
    assert archived.archived
    record = emu.world.channels[post.id]
    assert record.thread is not None
    assert record.thread.archived
    await wait_for(lambda: len(updates) == 2)
    assert frames.of("THREAD_UPDATE")[-1]["thread_metadata"]["archived"] is True

    joined: list[discord.Thread] = collect(bot, "thread_join")
    await post.send("reopening")  # posting unarchives a thread that is not locked
    assert not record.thread.archived
    await wait_for(lambda: len(joined) == 1)  # discord.py had dropped it when it was archived
    assert frames.of("THREAD_UPDATE")[-1]["thread_metadata"]["archived"] is False

    with pytest.raises(discord.Forbidden):  # locking takes MANAGE_THREADS
        await post.edit(locked=True)
    members_thread = await emu.create_thread(harness.general.id, harness.ana.id, "Ana's")
    await wait_for(lambda: bot.get_channel(members_thread.id) is not None)
    theirs = bot.get_channel(members_thread.id)
    assert isinstance(theirs, discord.Thread)
    with pytest.raises(discord.Forbidden):  # only its creator or a moderator renames it
        await theirs.edit(name="Mine now")

    role = emu.bot_role(harness.guild.id, harness.app.bot_user.id)
    assert role is not None
    emu.edit_role(role.id, permissions=int(P.SEND_MESSAGES | P.MANAGE_THREADS))
    await theirs.edit(locked=True, archived=True)
    with pytest.raises(PermissionError):
        await emu.send_message(members_thread.id, harness.ana.id, "locked out")
    await theirs.send("moderators still can")
    assert members_thread.thread is not None
    assert not members_thread.thread.archived
    assert members_thread.thread.locked
    emu.edit_role(role.id, permissions=int(P.SEND_MESSAGES))
    with pytest.raises(discord.Forbidden):
        await theirs.send("not any more")
