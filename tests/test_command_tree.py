"""Every slash command the cogs register keeps within Discord's limits, with no clashes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
from discord import app_commands

from bot.app import PLNCoachBot, discover_extensions
from bot.command_sync import command_set_hash
from bot.config import Settings
from bot.invite import INVITE_PERMISSIONS, invite_url

NAME = re.compile(r"^[-_\w]{1,32}$")


@pytest.fixture
async def bot_with_cogs() -> AsyncIterator[PLNCoachBot]:
    bot = PLNCoachBot(Settings())
    for extension in discover_extensions():
        await bot.load_extension(extension)
    yield bot
    await bot.close()


def test_every_cog_module_is_discovered() -> None:
    assert {"cogs.admin", "cogs.contribute", "cogs.health", "cogs.progress"} <= set(
        discover_extensions()
    )
    assert not any(name.split(".")[-1].startswith("_") for name in discover_extensions())


async def test_commands_respect_discords_limits(bot_with_cogs: PLNCoachBot) -> None:
    tree = bot_with_cogs.tree
    top_level = tree.get_commands()
    names = [command.name for command in top_level]
    assert len(names) == len(set(names)), "two commands share a name"
    assert len(top_level) <= 100
    assert {"share", "progress", "ping", "pln"} <= set(names)
    for command in tree.walk_commands():
        assert NAME.match(command.name), command.name
        assert command.name == command.name.lower()
        assert 1 <= len(command.description) <= 100, command.qualified_name
        if isinstance(command, app_commands.Command):
            assert len(command.parameters) <= 25
            for parameter in command.parameters:
                assert NAME.match(parameter.name), parameter.name
                assert 1 <= len(parameter.description) <= 100, parameter.name
                assert parameter.description != "…", f"{command.name}.{parameter.name} undescribed"


async def test_the_command_hash_changes_only_when_commands_change(
    bot_with_cogs: PLNCoachBot,
) -> None:
    tree = bot_with_cogs.tree
    before = command_set_hash(tree, None)
    assert command_set_hash(tree, None) == before

    @app_commands.command(name="extra", description="A command added later.")
    async def extra(interaction: discord.Interaction[PLNCoachBot]) -> None:
        raise NotImplementedError

    tree.add_command(extra)
    assert command_set_hash(tree, None) != before


def test_the_readme_invite_link_asks_for_what_the_bot_needs() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert f"scope=bot+applications.commands&permissions={INVITE_PERMISSIONS.value}" in readme
    assert "client_id=42" in invite_url(42)
