"""REST routes for global and guild application commands (list, bulk overwrite, CRUD)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from . import errors
from .rest import (
    body,
    bot_app,
    emulator,
    guild_for_bot,
    json_response,
    no_content,
    query_flag,
    snowflake,
)

routes = web.RouteTableDef()


def _scope(request: web.Request, *, guild: bool) -> tuple[int, int | None]:
    app = bot_app(request)
    application_id = snowflake(request, "application_id", errors.unknown_application())
    if application_id != app.id:
        raise errors.missing_access()
    if not guild:
        return application_id, None
    # Missing Access when the application is not installed in that guild.
    return application_id, guild_for_bot(request).id


def _listing(request: web.Request, commands: list[dict[str, Any]]) -> web.Response:
    """GET lists carry localization dictionaries only when asked ``with_localizations``."""
    if not query_flag(request, "with_localizations"):
        for command in commands:
            _strip_localizations(command)
    return json_response(200, commands)


def _strip_localizations(item: dict[str, Any]) -> None:
    item.pop("name_localizations", None)
    item.pop("description_localizations", None)
    for option in item.get("options") or []:
        _strip_localizations(option)
        for choice in option.get("choices") or []:
            choice.pop("name_localizations", None)


def _command_id(request: web.Request) -> int:
    return snowflake(request, "command_id", errors.unknown_command())


# Global and guild commands behave the same; a guild_id in the path selects the guild scope.
GLOBAL_COMMANDS = "/applications/{application_id}/commands"
GUILD_COMMANDS = "/applications/{application_id}/guilds/{guild_id}/commands"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _both_scopes(method: str, suffix: str = "") -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for base in (GLOBAL_COMMANDS, GUILD_COMMANDS):
            routes.route(method, base + suffix)(handler)
        return handler

    return register


def _scope_of(request: web.Request) -> tuple[int, int | None]:
    return _scope(request, guild="guild_id" in request.match_info)


@_both_scopes("GET")
async def list_commands(request: web.Request) -> web.Response:
    app_id, guild_id = _scope_of(request)
    return _listing(request, emulator(request).command_registry.list_commands(app_id, guild_id))


@_both_scopes("PUT")
async def overwrite_commands(request: web.Request) -> web.Response:
    app_id, guild_id = _scope_of(request)
    return json_response(
        200, emulator(request).command_registry.overwrite(app_id, guild_id, body(request))
    )


@_both_scopes("POST")
async def create_command(request: web.Request) -> web.Response:
    app_id, guild_id = _scope_of(request)
    command, created = emulator(request).command_registry.create(app_id, guild_id, body(request))
    return json_response(201 if created else 200, command)


@_both_scopes("GET", "/{command_id}")
async def get_command(request: web.Request) -> web.Response:
    app_id, guild_id = _scope_of(request)
    return json_response(
        200, emulator(request).command_registry.get(app_id, guild_id, _command_id(request))
    )


@_both_scopes("PATCH", "/{command_id}")
async def edit_command(request: web.Request) -> web.Response:
    app_id, guild_id = _scope_of(request)
    registry = emulator(request).command_registry
    return json_response(200, registry.edit(app_id, guild_id, _command_id(request), body(request)))


@_both_scopes("DELETE", "/{command_id}")
async def delete_command(request: web.Request) -> web.Response:
    app_id, guild_id = _scope_of(request)
    emulator(request).command_registry.delete(app_id, guild_id, _command_id(request))
    return no_content()
