"""Forum channels: their payloads, posts by the bot and by members, tags and refusals."""

from __future__ import annotations

from collections.abc import Sequence

import discord
import pytest
from discord import app_commands

from emulator import P
from emulator.state import ForumTag

from .conftest import Harness
from .passive import collect, start_passive_bot, wait_for


def _tag(forum: discord.ForumChannel, name: str) -> discord.ForumTag:
    found = next((t for t in forum.available_tags if t.name == name), None)
    assert found is not None, name
    return found


async def test_forum_channels_arrive_with_their_tags(harness: Harness) -> None:
    emu = harness.emu
    before = emu.create_forum_channel(
        harness.guild.id,
        "questions",
        ["math", ForumTag(id=0, name="answered", moderated=True, emoji_name="✅")],
        require_tag=True,
        topic="Ask the network",
        default_reaction_emoji="👍",
    )
    bot, frames = await start_passive_bot(harness)
    created: list[discord.abc.GuildChannel] = collect(bot, "guild_channel_create")
    after = emu.create_forum_channel(harness.guild.id, "help", ["science"])
    await wait_for(lambda: len(created) == 1)

    questions = bot.get_channel(before.id)
    assert isinstance(questions, discord.ForumChannel)
    assert questions.topic == "Ask the network"
    assert questions.flags.require_tag
    assert [t.name for t in questions.available_tags] == ["math", "answered"]
    answered = _tag(questions, "answered")
    assert answered.moderated
    assert answered.emoji is not None
    assert answered.emoji.name == "✅"
    assert questions.default_reaction_emoji is not None
    assert questions.default_reaction_emoji.name == "👍"
    raw = next(c for c in frames.of("GUILD_CREATE")[0]["channels"] if c["id"] == str(before.id))
    assert raw["type"] == 15
    assert raw["flags"] == 1 << 4
    assert raw["available_tags"][0] == {
        "id": str(before.forum.available_tags[0].id),  # type: ignore[union-attr]
        "name": "math",
        "moderated": False,
        "emoji_id": None,
        "emoji_name": None,
    }
    assert raw["default_reaction_emoji"] == {"emoji_id": None, "emoji_name": "👍"}

    assert isinstance(created[0], discord.ForumChannel)
    assert created[0].id == after.id
    assert not created[0].flags.require_tag
    listed = await bot.http.get_all_guild_channels(harness.guild.id)
    forum = next(c for c in listed if c["id"] == str(after.id))
    assert forum["type"] == 15
    assert [t["name"] for t in forum["available_tags"]] == ["science"]
    with pytest.raises(ValueError, match="at most 20"):
        emu.create_forum_channel(harness.guild.id, "big", [f"t{i}" for i in range(21)])
    with pytest.raises(ValueError, match="unique"):
        emu.create_forum_channel(harness.guild.id, "twice", ["a", "a"])


async def test_the_bot_posts_in_a_forum_with_tags(harness: Harness) -> None:
    emu = harness.emu
    forum = emu.create_forum_channel(harness.guild.id, "questions", ["math", "science", "ela"])
    bot, frames = await start_passive_bot(harness)
    cached = bot.get_channel(forum.id)
    assert isinstance(cached, discord.ForumChannel)

    thread, message = await cached.create_thread(
        name="How do you teach fractions?",
        content=f"Asked by <@{harness.ana.id}>",
        embed=discord.Embed(title="Question", description="Fractions in grade 5"),
        applied_tags=[_tag(cached, "math"), _tag(cached, "science")],
        allowed_mentions=discord.AllowedMentions.none(),
    )
    assert thread.id == message.id  # the post's first message has the thread's id
    assert isinstance(thread.parent, discord.ForumChannel)
    assert [t.name for t in thread.applied_tags] == ["math", "science"]
    assert message.channel.id == thread.id
    assert message.embeds[0].title == "Question"

    record = emu.world.channels[thread.id]
    assert record.thread is not None
    assert record.type == 11
    assert record.parent_id == forum.id
    assert record.owner_id == harness.app.bot_user.id
    assert record.thread.message_count == 0  # the first message is not counted
    assert forum.last_message_id == thread.id
    starter = emu.get_message(thread.id)
    assert starter is not None
    assert starter.content == f"Asked by <@{harness.ana.id}>"
    assert not starter.pings.any
    assert emu.threads_in(forum.id) == [record]

    await wait_for(lambda: frames.of("MESSAGE_CREATE"))
    events = [f["t"] for f in frames.received if f["t"] in ("THREAD_CREATE", "MESSAGE_CREATE")]
    assert events == ["THREAD_CREATE", "MESSAGE_CREATE"]
    created = frames.of("THREAD_CREATE")[0]
    assert created["newly_created"] is True
    assert created["parent_id"] == str(forum.id)
    assert created["applied_tags"] == [str(t.id) for t in cached.available_tags[:2]]
    post = next(r for r in emu.requests if r.route == "/channels/{channel_id}/threads")
    assert post.status == 201
    assert post.json["message"]["allowed_mentions"] == {"parse": []}

    fetched = await bot.fetch_channel(thread.id)
    assert isinstance(fetched, discord.Thread)
    assert [t.name for t in fetched.applied_tags] == ["math", "science"]
    reply = await thread.send("Anyone?")
    assert emu.messages_in(thread.id)[-1].id == reply.id
    assert record.thread.message_count == 1


async def test_forum_post_refusals(harness: Harness) -> None:
    emu = harness.emu
    forum = emu.create_forum_channel(
        harness.guild.id,
        "questions",
        ["math", "b", "c", "d", "e", "f", ForumTag(id=0, name="answered", moderated=True)],
        require_tag=True,
    )
    bot, _ = await start_passive_bot(harness)
    cached = bot.get_channel(forum.id)
    assert isinstance(cached, discord.ForumChannel)
    math = _tag(cached, "math")

    async def refused(tags: Sequence[discord.ForumTag]) -> discord.HTTPException:
        with pytest.raises(discord.HTTPException) as caught:
            await cached.create_thread(name="Q", content="?", applied_tags=tags)
        return caught.value

    assert (await refused([])).code == 40067  # REQUIRE_TAG
    too_many = await refused(cached.available_tags[:6])
    assert too_many.code == 50035
    assert "applied_tags" in too_many.text
    assert (await refused([_tag(cached, "answered")])).code == 50013  # moderated
    unknown = await refused([discord.ForumTag(name="not here")])  # id 0
    assert unknown.code == 50035
    with pytest.raises(discord.HTTPException) as long_name:
        await cached.create_thread(name="x" * 101, content="?", applied_tags=[math])
    assert long_name.value.code == 50035
    assert emu.threads_in(forum.id) == []

    with pytest.raises(discord.HTTPException) as direct:
        await bot.http.send_message(forum.id, params=discord.http.handle_message_parameters("hi"))
    assert direct.value.code == 40058
    with pytest.raises(discord.HTTPException) as no_message:
        await bot.http.request(
            discord.http.Route("POST", "/channels/{channel_id}/threads", channel_id=forum.id),
            json={"name": "Q", "applied_tags": [str(math.id)]},
        )
    assert no_message.value.code == 50035
    with pytest.raises(discord.HTTPException) as empty:
        await bot.http.request(
            discord.http.Route("POST", "/channels/{channel_id}/threads", channel_id=forum.id),
            json={"name": "Q", "message": {"content": " "}, "applied_tags": [str(math.id)]},
        )
    assert empty.value.code == 50006

    role = emu.bot_role(harness.guild.id, harness.app.bot_user.id)
    assert role is not None
    # Posting in a forum needs SEND_MESSAGES; CREATE_PUBLIC_THREADS does not count there.
    emu.set_permission_overwrite(
        forum.id, harness.guild.id, allow=P.CREATE_PUBLIC_THREADS, deny=P.SEND_MESSAGES
    )
    emu.set_permission_overwrite(forum.id, role.id, deny=P.SEND_MESSAGES)
    assert (await refused([math])).code == 50013
    emu.set_permission_overwrite(forum.id, role.id, allow=P.SEND_MESSAGES | P.MANAGE_THREADS)
    thread, _ = await cached.create_thread(
        name="Q", content="?", applied_tags=[_tag(cached, "answered")]
    )
    assert [t.name for t in thread.applied_tags] == ["answered"]


async def test_a_members_post_reaches_the_bot_as_a_thread_in_a_forum(harness: Harness) -> None:
    emu = harness.emu
    forum = emu.create_forum_channel(harness.guild.id, "questions", ["math", "science"])
    bot, frames = await start_passive_bot(harness, message_content=True)
    threads: list[discord.Thread] = collect(bot, "thread_create")
    messages: list[discord.Message] = collect(bot, "message")

    post = await emu.create_forum_post(
        forum.id, harness.ana.id, "Rubrics for lab reports?", "Looking for examples", ["science"]
    )
    await emu.send_message(post.id, harness.ben.id, "Here is mine")
    await wait_for(lambda: len(threads) == 1 and len(messages) == 2)

    thread = threads[0]
    assert thread.id == post.id
    assert thread.name == "Rubrics for lab reports?"
    assert thread.owner_id == harness.ana.id
    assert isinstance(thread.parent, discord.ForumChannel)
    assert thread.parent.id == forum.id
    assert [t.name for t in thread.applied_tags] == ["science"]
    first, reply = messages
    assert first.id == thread.id
    assert first.type is discord.MessageType.default
    assert first.channel is thread
    assert first.content == "Looking for examples"
    assert first.author.id == harness.ana.id
    assert reply.channel is thread
    assert [f["t"] for f in frames.received][-3:] == [
        "THREAD_CREATE",
        "MESSAGE_CREATE",
        "MESSAGE_CREATE",
    ]
    assert post.thread is not None
    assert post.thread.message_count == 1
    assert set(post.thread.members) == {harness.ana.id, harness.ben.id}

    with pytest.raises(ValueError, match="create_forum_post"):
        await emu.send_message(forum.id, harness.ana.id, "not here")
    with pytest.raises(ValueError, match="no tag 'history'"):
        await emu.create_forum_post(forum.id, harness.ana.id, "Q", "?", ["history"])
    with pytest.raises(ValueError, match="not a guild text channel"):
        await emu.create_thread(forum.id, harness.ana.id, "not like this")
    emu.set_permission_overwrite(forum.id, harness.guild.id, deny=P.SEND_MESSAGES)
    with pytest.raises(PermissionError):
        await emu.create_forum_post(forum.id, harness.ben.id, "Q", "?")


async def test_a_forum_is_an_option_and_its_tags_autocomplete(harness: Harness) -> None:
    """What /ask's admin setup and tag picker need: a forum as a channel option, tag names
    offered by autocomplete."""
    emu = harness.emu
    forum = emu.create_forum_channel(harness.guild.id, "questions", ["math", "maths-club", "ela"])
    bot = harness.make_bot()
    chosen: list[discord.abc.GuildChannel | app_commands.AppCommandChannel] = []

    async def tag_names(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        channel = interaction.client.get_channel(forum.id)
        assert isinstance(channel, discord.ForumChannel)
        names = [t.name for t in channel.available_tags if t.name.startswith(current)]
        return [app_commands.Choice(name=n, value=n) for n in names]

    @bot.tree.command(name="ask-channel", description="Where questions go")
    async def ask_channel(
        interaction: discord.Interaction, channel: discord.TextChannel | discord.ForumChannel
    ) -> None:
        chosen.append(channel)
        await interaction.response.send_message("ok", ephemeral=True)

    @bot.tree.command(name="ask", description="Ask the network")
    @app_commands.autocomplete(tag=tag_names)
    async def ask(interaction: discord.Interaction, question: str, tag: str) -> None:
        await interaction.response.send_message(tag, ephemeral=True)

    await harness.start(bot)
    await bot.tree.sync()
    registered = {c["name"]: c for c in emu.commands(harness.app.id)}
    assert {0, 15} <= set(registered["ask-channel"]["options"][0]["channel_types"])
    ix = await emu.run_slash_command(
        harness.guild.id, harness.general.id, harness.owner.id, "ask-channel", {"channel": forum.id}
    )
    await ix.wait_response()
    assert isinstance(chosen[0], discord.ForumChannel)
    assert chosen[0].id == forum.id

    choices = await emu.autocomplete(
        harness.guild.id,
        harness.general.id,
        harness.ana.id,
        "ask",
        {"question": "How?", "tag": "mat"},
        focused="tag",
    )
    assert choices == [
        {"name": "math", "value": "math"},
        {"name": "maths-club", "value": "maths-club"},
    ]
