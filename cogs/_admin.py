"""One way to make a command admin-only (Manage Server), so none is forgotten.

Discord hides a top-level command from members without its default permissions, but a server
can override that (Server Settings → Integrations), and a subcommand of a group members use too
(`/challenge schedule`) has no default permissions of its own. So the permission is also
checked when the command runs; a refusal is private and changes nothing.
"""

from __future__ import annotations

from typing import Any, TypeVar

from discord import app_commands

ADMIN = "admin"

CommandT = TypeVar("CommandT", bound=app_commands.Command[Any, ..., Any])


def admin_only(command: CommandT) -> CommandT:
    """Put above ``@app_commands.command``: default permissions, a run-time check, a mark."""
    command.extras[ADMIN] = True
    app_commands.default_permissions(manage_guild=True)(command)
    app_commands.checks.has_permissions(manage_guild=True)(command)
    return command


def is_admin_only(command: app_commands.Command[Any, ..., Any]) -> bool:
    return bool(command.extras.get(ADMIN))
