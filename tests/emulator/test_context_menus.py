"""Message context menus (in channels, threads and forum posts) and autocomplete limits."""

from __future__ import annotations

import discord
import pytest
from discord import app_commands

from emulator import OptionError

from .conftest import Harness
from .passive import wait_for


def _helpful_bot(harness: Harness, marked: list[discord.Message]) -> discord.ext.commands.Bot:
    bot = harness.make_bot()

    @app_commands.context_menu(name="Mark as helpful")
    async def mark_helpful(interaction: discord.Interaction, message: discord.Message) -> None:
        marked.append(message)
        await interaction.response.send_message(
            f"Marked {message.author.mention}'s answer as helpful",
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    bot.tree.add_command(mark_helpful)
    return bot


async def test_mark_as_helpful_on_replies_in_a_thread_and_a_forum_post(harness: Harness) -> None:
    emu = harness.emu
    marked: list[discord.Message] = []
    bot = await harness.start(_helpful_bot(harness, marked))
    synced = await bot.tree.sync()
    assert [(c.name, c.type) for c in synced] == [
        ("Mark as helpful", discord.AppCommandType.message)
    ]
    registered = emu.commands(harness.app.id)[0]
    assert (registered["type"], registered["description"]) == (3, "")

    question = await emu.send_message(harness.general.id, harness.ana.id, "How do I start?")
    thread = await emu.create_thread(harness.general.id, harness.ana.id, "Start", question.id)
    answer = await emu.send_message(thread.id, harness.ben.id, "Begin with a KWL chart")
    ix = await emu.run_context_command(
        harness.guild.id,
        thread.id,
        harness.ana.id,
        "Mark as helpful",
        target_message_id=answer.id,
    )
    response = await ix.wait_response()
    assert response.type == 4
    assert ix.data["target_id"] == str(answer.id)
    assert list(ix.data["resolved"]["messages"]) == [str(answer.id)]
    target = marked[0]
    assert target.id == answer.id
    assert target.author.id == harness.ben.id
    assert target.content == "Begin with a KWL chart"  # resolved messages carry content
    assert isinstance(target.channel, discord.Thread)
    assert target.channel.id == thread.id
    assert ix.original_message is not None
    assert ix.original_message.ephemeral
    assert not ix.original_message.pings.any

    forum = emu.create_forum_channel(harness.guild.id, "questions", ["math"])
    post = await emu.create_forum_post(forum.id, harness.ana.id, "Fractions?", "Ideas?", ["math"])
    reply = await emu.send_message(post.id, harness.ben.id, "Pizza slices")
    await wait_for(lambda: bot.get_channel(post.id) is not None)
    ix = await emu.run_context_command(
        harness.guild.id, post.id, harness.ana.id, "Mark as helpful", target_message_id=reply.id
    )
    await ix.wait_response()
    target = marked[1]
    assert target.id == reply.id
    assert isinstance(target.channel, discord.Thread)
    assert isinstance(target.channel.parent, discord.ForumChannel)
    assert [t.name for t in target.channel.applied_tags] == ["math"]
    assert ix.payload["channel"]["type"] == 11
    assert ix.payload["channel"]["parent_id"] == str(forum.id)

    with pytest.raises(OptionError, match="unknown message"):  # it is not in that channel
        await emu.run_context_command(
            harness.guild.id,
            harness.general.id,
            harness.ana.id,
            "Mark as helpful",
            target_message_id=reply.id,
        )
    with pytest.raises(OptionError, match="no registered command"):  # no slash twin
        await emu.run_slash_command(
            harness.guild.id, harness.general.id, harness.ana.id, "Mark as helpful"
        )


async def test_autocomplete_answers_are_held_to_discords_limits(harness: Harness) -> None:
    emu = harness.emu
    bot = harness.make_bot()

    async def too_many(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f"tag {i}", value=f"tag-{i}") for i in range(26)]

    group = app_commands.Group(name="pln", description="PLN")

    @group.command(name="ask", description="Ask")
    @app_commands.autocomplete(tag=too_many)
    async def ask(interaction: discord.Interaction, tag: str) -> None:
        await interaction.response.send_message(tag)

    bot.tree.add_command(group)
    await harness.start(bot)
    await bot.tree.sync()
    with pytest.raises(TimeoutError):  # Discord refuses 26 choices, so none ever show
        await emu.autocomplete(
            harness.guild.id,
            harness.general.id,
            harness.ana.id,
            "pln ask",
            {"tag": "t"},
            focused="tag",
            timeout=1.0,
        )
    callback = [r for r in emu.requests if r.route.endswith("/callback")]
    assert [(r.status, len(r.json["data"]["choices"])) for r in callback] == [(400, 26)]
    with pytest.raises(OptionError, match="not an option"):
        await emu.autocomplete(
            harness.guild.id, harness.general.id, harness.ana.id, "pln ask", {}, focused="nope"
        )
