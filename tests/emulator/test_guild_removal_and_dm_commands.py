"""The bot removed from a guild (GUILD_DELETE without ``unavailable``), and commands in a DM."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord import app_commands

from .conftest import Harness


async def _wait_for(predicate: object, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.01)


async def test_removing_the_bot_from_a_guild_is_a_guild_remove(harness: Harness) -> None:
    bot = await harness.start(harness.make_bot())
    removed: list[int] = []
    unavailable: list[int] = []

    async def on_guild_remove(guild: discord.Guild) -> None:
        removed.append(guild.id)

    async def on_guild_unavailable(guild: discord.Guild) -> None:
        unavailable.append(guild.id)

    bot.add_listener(on_guild_remove)
    bot.add_listener(on_guild_unavailable)
    assert bot.get_guild(harness.guild.id) is not None
    harness.emu.remove_member(harness.guild.id, harness.app.bot_user.id)
    await _wait_for(lambda: removed == [harness.guild.id])
    assert unavailable == []  # removed, not an outage: the payload has no "unavailable"
    assert bot.get_guild(harness.guild.id) is None
    # Its events no longer reach the bot.
    seen: list[str] = []

    async def on_message(message: discord.Message) -> None:
        seen.append(message.content)

    bot.add_listener(on_message)
    await harness.emu.send_message(harness.general.id, harness.ana.id, "after")
    await asyncio.sleep(0.2)
    assert seen == []


async def test_a_global_command_runs_in_a_dm_unless_it_is_guild_only(harness: Harness) -> None:
    bot = harness.make_bot()
    seen: list[tuple[int | None, int]] = []

    @bot.tree.command(name="anywhere", description="Works in DMs")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    async def anywhere(interaction: discord.Interaction) -> None:
        seen.append((interaction.guild_id, interaction.user.id))
        await interaction.response.send_message("hi", ephemeral=True)

    @bot.tree.command(name="here", description="Guild only")
    @app_commands.guild_only()
    async def here(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("no")

    await harness.start(bot)
    await bot.tree.sync()
    ix = await harness.emu.run_dm_command(harness.ana.id, "anywhere")
    response = await ix.wait_response()
    assert response.type == 4
    assert seen == [(None, harness.ana.id)]
    assert ix.guild_id is None
    with pytest.raises(PermissionError):
        await harness.emu.run_dm_command(harness.ana.id, "here")
