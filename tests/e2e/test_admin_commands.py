"""Every admin command, run by a plain member: refused privately, and nothing changed.

Found by walking the bot's command tree for commands marked admin-only, so a new admin command
is covered without touching this test. Discord hides a top-level admin command from members;
servers can override that, so here the emulator's stored command is opened to everyone first
and the bot's own check must refuse.
"""

from __future__ import annotations

from typing import Any

from discord import AppCommandOptionType, app_commands
from sqlalchemy import func, select

from bot.app import PLNCoachBot
from bot.db import Base
from cogs._admin import is_admin_only
from tests.e2e.conftest import Community
from tests.e2e.helpers import EPHEMERAL, run_command


def admin_commands(bot: PLNCoachBot) -> list[app_commands.Command[Any, ..., Any]]:
    found = []
    for command in bot.tree.walk_commands():
        if isinstance(command, app_commands.Command) and is_admin_only(command):
            found.append(command)
    return found


def valid_options(
    command: app_commands.Command[Any, ..., Any], community: Community
) -> dict[str, Any]:
    """Options an admin could really send, so only the permission can make it fail."""
    options: dict[str, Any] = {}
    for parameter in command.parameters:
        if parameter.choices:
            options[parameter.name] = parameter.choices[0].value
        elif parameter.type is AppCommandOptionType.channel:
            options[parameter.name] = community.resources.id
        elif parameter.name == "time":
            options[parameter.name] = "09:00"
        elif parameter.name == "timezone":
            options[parameter.name] = "Europe/Berlin"
        elif parameter.type is AppCommandOptionType.string:
            options[parameter.name] = "connect.say-hi-to-someone-new"
    return options


async def row_counts(bot: PLNCoachBot) -> dict[str, int]:
    async with bot.services.database.read() as session:
        return {
            name: await session.scalar(select(func.count()).select_from(table)) or 0
            for name, table in Base.metadata.tables.items()
            if name not in ("members", "servers", "pending_answers")  # who acted, and the answer
        }


async def test_every_admin_command_refuses_a_plain_member_and_changes_nothing(
    coach: PLNCoachBot, community: Community
) -> None:
    commands = admin_commands(coach)
    names = {command.qualified_name for command in commands}
    assert {"pln shares-channel", "challenge schedule", "challenge add", "recap schedule"} <= names
    emu = community.emulator
    for command in commands:
        top = emu.command_registry.find(community.app.id, None, command.qualified_name.split()[0])
        assert top is not None
        if command.parent is None:  # Discord hides it from members...
            assert top["default_member_permissions"] is not None
        top["default_member_permissions"] = None  # ...unless the server opened it to everyone

    before = await row_counts(coach)
    for command in commands:
        reply = await run_command(
            community, community.ana.id, command.qualified_name, valid_options(command, community)
        )
        assert reply.flags & EPHEMERAL, command.qualified_name
        assert "You need **Manage Server**" in reply.content, (command.qualified_name, reply)
    assert await row_counts(coach) == before

    # The same commands work for the server's lead, so the refusals above were the permission.
    [schedule] = [c for c in commands if c.qualified_name == "challenge schedule"]
    reply = await run_command(
        community, community.admin.id, "challenge schedule", valid_options(schedule, community)
    )
    assert "Done" in reply.content


# Commands that take another member as an option, and why that is not acting for them.
READS_ANOTHER_MEMBER = {"progress": "shows their progress; stores nothing about them"}


async def test_nobody_acts_for_someone_else(coach: PLNCoachBot, community: Community) -> None:
    """The only commands naming another member read; every change is the member's own."""
    member_options = {
        command.qualified_name
        for command in coach.tree.walk_commands()
        if isinstance(command, app_commands.Command)
        and any(
            parameter.type in (AppCommandOptionType.user, AppCommandOptionType.mentionable)
            for parameter in command.parameters
        )
    }
    assert member_options == set(READS_ANOTHER_MEMBER)
    await run_command(community, community.ana.id, "share", {"url": "https://a.org/x"})
    before = await row_counts(coach)
    reply = await run_command(community, community.ben.id, "progress", {"member": community.ana.id})
    assert reply.flags & EPHEMERAL
    assert await row_counts(coach) == before
