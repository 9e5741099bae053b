"""Slash commands end to end: sync, invoke with typed options, respond, defer, follow up."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord import app_commands

from emulator import OptionError

from .conftest import Harness, HarnessFactory


async def test_slash_command_gets_typed_options_and_replies(harness: Harness) -> None:
    bot = harness.make_bot()
    seen: dict[str, object] = {}

    @bot.tree.command(name="share", description="Share a resource")
    @app_commands.describe(url="Link", title="Title")
    async def share(
        interaction: discord.Interaction,
        url: str,
        title: str,
        minutes: app_commands.Range[int, 1, 120] = 10,
        who: discord.Member | None = None,
        where: discord.TextChannel | None = None,
    ) -> None:
        seen.update(
            url=url, title=title, minutes=minutes, who=who, where=where, user=interaction.user
        )
        await interaction.response.send_message(f"Saved {title}", ephemeral=True)

    await harness.start(bot)
    synced = await bot.tree.sync()
    assert [c.name for c in synced] == ["share"]
    assert harness.emu.command_writes == 1
    ix = await harness.emu.run_slash_command(
        harness.guild.id,
        harness.general.id,
        harness.ana.id,
        "share",
        {
            "url": "https://x.org",
            "title": "T",
            "minutes": "15",
            "who": harness.ben.id,
            "where": harness.announcements.id,
        },
    )
    response = await ix.wait_response()
    assert response.type == 4
    assert response.data is not None
    assert response.data["content"] == "Saved T"
    assert ix.original_message is not None
    assert ix.original_message.ephemeral
    assert seen["url"] == "https://x.org"
    assert seen["minutes"] == 15
    who = seen["who"]
    assert isinstance(who, discord.Member)
    assert who.id == harness.ben.id
    where = seen["where"]
    assert isinstance(where, (discord.TextChannel, app_commands.AppCommandChannel))
    assert where.id == harness.announcements.id
    assert isinstance(seen["user"], discord.Member)
    assert seen["user"].id == harness.ana.id
    assert harness.emu.messages_in(harness.general.id)[-1].content == "Saved T"


async def test_options_are_validated_like_the_client(harness: Harness) -> None:
    bot = harness.make_bot()

    @bot.tree.command(name="rate", description="Rate")
    async def rate(interaction: discord.Interaction, stars: app_commands.Range[int, 1, 5]) -> None:
        await interaction.response.send_message("ok")

    await harness.start(bot)
    await bot.tree.sync()
    emu = harness.emu
    args = (harness.guild.id, harness.general.id, harness.ana.id, "rate")
    with pytest.raises(OptionError):
        await emu.run_slash_command(*args, {})
    with pytest.raises(ValueError, match="unknown option"):
        await emu.run_slash_command(*args, {"stars": 3, "extra": 1})
    with pytest.raises(ValueError):
        await emu.run_slash_command(*args, {"stars": 9})
    with pytest.raises(ValueError):
        await emu.run_slash_command(*args, {"stars": "many"})


async def test_defer_then_edit_and_followups(harness: Harness) -> None:
    bot = harness.make_bot()

    @bot.tree.command(name="slow", description="Slow")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await asyncio.sleep(0.05)
        await interaction.edit_original_response(content="done")
        await interaction.followup.send("more", ephemeral=True)
        await interaction.followup.send("and more")

    await harness.start(bot)
    await bot.tree.sync()
    ix = await harness.emu.run_slash_command(
        harness.guild.id, harness.general.id, harness.ana.id, "slow"
    )
    assert (await ix.wait_response()).type == 5
    original = await ix.wait_original_edit()
    assert original.content == "done"
    followups = await ix.wait_followups(2)
    assert [m.content for m in followups] == ["more", "and more"]
    assert [m.ephemeral for m in followups] == [True, False]


async def test_second_response_is_rejected(harness: Harness) -> None:
    bot = harness.make_bot()
    outcome: list[BaseException] = []

    @bot.tree.command(name="twice", description="Twice")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("one")
        try:
            await interaction.response.send_message("two")
        except discord.InteractionResponded as exc:
            outcome.append(exc)
        # Force it through raw HTTP like a buggy bot would.
        try:
            await interaction.client.http.request(
                discord.http.Route(
                    "POST",
                    "/interactions/{interaction_id}/{interaction_token}/callback",
                    interaction_id=interaction.id,
                    interaction_token=interaction.token,
                ),
                json={"type": 4, "data": {"content": "three"}},
            )
        except discord.HTTPException as exc:
            outcome.append(exc)

    await harness.start(bot)
    await bot.tree.sync()
    ix = await harness.emu.run_slash_command(
        harness.guild.id, harness.general.id, harness.ana.id, "twice"
    )
    await ix.wait_response()
    for _ in range(100):
        if len(outcome) == 2:
            break
        await asyncio.sleep(0.01)
    assert isinstance(outcome[0], discord.InteractionResponded)
    assert isinstance(outcome[1], discord.HTTPException)
    assert outcome[1].status == 400
    assert outcome[1].code == 40060


async def test_late_first_response_is_unknown_interaction(make_harness: HarnessFactory) -> None:
    harness = await make_harness(interaction_deadline=0.3)
    bot = harness.make_bot()
    errors: list[discord.HTTPException] = []

    @bot.tree.command(name="late", description="Late")
    async def late(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.5)
        try:
            await interaction.response.send_message("too late")
        except discord.HTTPException as exc:
            errors.append(exc)

    await harness.start(bot)
    await bot.tree.sync()
    ix = await harness.emu.run_slash_command(
        harness.guild.id, harness.general.id, harness.ana.id, "late"
    )
    with pytest.raises(TimeoutError):
        await ix.wait_response(timeout=1.0)
    assert len(errors) == 1
    assert isinstance(errors[0], discord.NotFound)
    assert errors[0].code == 10062


async def test_buttons_selects_and_modals_round_trip(harness: Harness) -> None:
    bot = harness.make_bot()
    clicks: list[str] = []

    class Feedback(discord.ui.Modal, title="Feedback"):
        answer: discord.ui.TextInput[Feedback] = discord.ui.TextInput(label="Answer", max_length=50)

        async def on_submit(self, interaction: discord.Interaction) -> None:
            await interaction.response.send_message(f"thanks: {self.answer.value}", ephemeral=True)

    class Menu(discord.ui.View):
        @discord.ui.button(label="Like", custom_id="like")
        async def like(
            self, interaction: discord.Interaction, button: discord.ui.Button[Menu]
        ) -> None:
            clicks.append("like")
            await interaction.response.edit_message(content="liked")

        @discord.ui.select(
            custom_id="pick",
            options=[
                discord.SelectOption(label="A", value="a"),
                discord.SelectOption(label="B", value="b"),
            ],
        )
        async def pick(
            self, interaction: discord.Interaction, select: discord.ui.Select[Menu]
        ) -> None:
            clicks.append(f"pick:{select.values[0]}")
            await interaction.response.send_modal(Feedback())

    @bot.tree.command(name="menu", description="Menu")
    async def menu(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("choose", view=Menu())

    await harness.start(bot)
    await bot.tree.sync()
    emu = harness.emu
    ix = await emu.run_slash_command(harness.guild.id, harness.general.id, harness.ana.id, "menu")
    await ix.wait_response()
    message = ix.original_message
    assert message is not None
    press = await emu.press_button(message.id, "like", harness.ben.id)
    assert (await press.wait_response()).type == 7
    assert emu.get_message(message.id).content == "liked"  # type: ignore[union-attr]
    select = await emu.choose_select(message.id, "pick", ["b"], harness.ben.id)
    assert (await select.wait_response()).type == 9
    with pytest.raises(ValueError):
        await emu.submit_modal(select, {"Answer": "x" * 51})
    submitted = await emu.submit_modal(select, {"Answer": "great"})
    response = await submitted.wait_response()
    assert response.type == 4
    assert response.data is not None
    assert response.data["content"] == "thanks: great"
    assert clicks == ["like", "pick:b"]


async def test_autocomplete_returns_choices(harness: Harness) -> None:
    bot = harness.make_bot()

    async def suggest(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        tags = ["math", "maths-club", "music"]
        return [app_commands.Choice(name=t, value=t) for t in tags if t.startswith(current)]

    @bot.tree.command(name="tag", description="Tag")
    @app_commands.autocomplete(tags=suggest)
    async def tag(interaction: discord.Interaction, tags: str) -> None:
        await interaction.response.send_message(tags)

    await harness.start(bot)
    await bot.tree.sync()
    choices = await harness.emu.autocomplete(
        harness.guild.id, harness.general.id, harness.ana.id, "tag", {"tags": "mat"}, focused="tags"
    )
    assert [c["value"] for c in choices] == ["math", "maths-club"]


async def test_subcommand_groups(harness: Harness) -> None:
    bot = harness.make_bot()
    group = app_commands.Group(name="habit", description="Habits")
    calls: list[str] = []

    @group.command(name="log", description="Log a habit")
    async def log(interaction: discord.Interaction, note: str) -> None:
        calls.append(note)
        await interaction.response.send_message("logged")

    bot.tree.add_command(group, guild=discord.Object(harness.guild.id))
    await harness.start(bot)
    await bot.tree.sync(guild=discord.Object(harness.guild.id))
    assert harness.emu.commands(harness.app.id, harness.guild.id)[0]["name"] == "habit"
    ix = await harness.emu.run_slash_command(
        harness.guild.id, harness.general.id, harness.ana.id, "habit log", {"note": "read"}
    )
    assert (await ix.wait_response()).type == 4
    assert calls == ["read"]
    assert ix.original_message is not None
    assert ix.original_message.interaction_metadata is not None
    assert ix.original_message.interaction_metadata["name"] == "habit log"


async def test_webhook_token_rules(make_harness: HarnessFactory) -> None:
    harness = await make_harness(followup_window=0.5)
    bot = harness.make_bot()
    gate = asyncio.Event()
    outcome: dict[str, BaseException | None] = {}

    @bot.tree.command(name="later", description="Later")
    async def later(interaction: discord.Interaction) -> None:
        try:
            await interaction.followup.send("too early")
        except discord.HTTPException as exc:
            outcome["early"] = exc
        await interaction.response.send_message("ack")
        await gate.wait()
        try:
            await interaction.followup.send("too late")
        except discord.HTTPException as exc:
            outcome["late"] = exc

    await harness.start(bot)
    await bot.tree.sync()
    ix = await harness.emu.run_slash_command(
        harness.guild.id, harness.general.id, harness.ana.id, "later"
    )
    await ix.wait_response()
    await asyncio.sleep(0.6)
    gate.set()
    for _ in range(100):
        if "late" in outcome:
            break
        await asyncio.sleep(0.01)
    early, late = outcome["early"], outcome["late"]
    assert isinstance(early, discord.NotFound)
    assert early.code == 10015
    assert isinstance(late, discord.HTTPException)
    assert late.status == 401
    assert late.code == 50027
    assert ix.followups == []


async def test_context_menus_and_user_selects(harness: Harness) -> None:
    bot = harness.make_bot()
    targets: list[int] = []

    @bot.tree.context_menu(name="Say thanks")
    async def thanks(interaction: discord.Interaction, member: discord.Member) -> None:
        targets.append(member.id)
        view = discord.ui.View()
        select: discord.ui.UserSelect[discord.ui.View] = discord.ui.UserSelect(custom_id="who")

        async def chosen(inner: discord.Interaction) -> None:
            targets.extend(u.id for u in select.values)
            await inner.response.defer()

        select.callback = chosen  # type: ignore[method-assign, assignment]
        view.add_item(select)
        await interaction.response.send_message("pick someone", view=view, ephemeral=True)

    await harness.start(bot)
    await bot.tree.sync()
    emu = harness.emu
    ix = await emu.run_context_command(
        harness.guild.id,
        harness.general.id,
        harness.ana.id,
        "Say thanks",
        target_user_id=harness.ben.id,
    )
    await ix.wait_response()
    message = ix.original_message
    assert message is not None
    assert message.ephemeral
    with pytest.raises(PermissionError):
        await emu.choose_select(message.id, "who", [harness.owner.id], harness.ben.id)
    picked = await emu.choose_select(message.id, "who", [harness.owner.id], harness.ana.id)
    assert (await picked.wait_response()).type == 6
    assert targets == [harness.ben.id, harness.owner.id]
