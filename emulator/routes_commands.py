"""REST routes for global and guild application commands (list, bulk overwrite, CRUD)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import errors
from .rest import body, bot_app, emulator, json_response, no_content, query_flag, snowflake

routes = web.RouteTableDef()


def _scope(request: web.Request, *, guild: bool) -> tuple[int, int | None]:
    app = bot_app(request)
    application_id = snowflake(request, "application_id", errors.unknown_application())
    if application_id != app.id:
        raise errors.missing_access()
    if not guild:
        return application_id, None
    guild_id = snowflake(request, "guild_id", errors.unknown_guild())
    world = emulator(request).world
    found = world.guilds.get(guild_id)
    if found is None:
        raise errors.unknown_guild()
    if app.bot_user.id not in found.members:
        # The application is not installed in that guild.
        raise errors.missing_access()
    return application_id, guild_id


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


@routes.get("/applications/{application_id}/commands")
async def list_global(request: web.Request) -> web.Response:
    app_id, guild_id = _scope(request, guild=False)
    return _listing(request, emulator(request).command_registry.list_commands(app_id, guild_id))


@routes.put("/applications/{application_id}/commands")
async def overwrite_global(request: web.Request) -> web.Response:
    app_id, guild_id = _scope(request, guild=False)
    return json_response(
        200, emulator(request).command_registry.overwrite(app_id, guild_id, body(request))
    )


@routes.post("/applications/{application_id}/commands")
async def create_global(request: web.Request) -> web.Response:
    app_id, guild_id = _scope(request, guild=False)
    command, created = emulator(request).command_registry.create(app_id, guild_id, body(request))
    return json_response(201 if created else 200, command)


@routes.get("/applications/{application_id}/commands/{command_id}")
async def get_global(request: web.Request) -> web.Response:
    app_id, guild_id = _scope(request, guild=False)
    return json_response(
        200, emulator(request).command_registry.get(app_id, guild_id, _command_id(request))
    )


@routes.patch("/applications/{application_id}/commands/{command_id}")
async def edit_global(request: web.Request) -> web.Response:
    app_id, guild_id = _scope(request, guild=False)
    registry = emulator(request).command_registry
    return json_response(200, registry.edit(app_id, guild_id, _command_id(request), body(request)))


@routes.delete("/applications/{application_id}/commands/{command_id}")
async def delete_global(request: web.Request) -> web.Response:
    app_id, guild_id = _scope(request, guild=False)
    emulator(request).command_registry.delete(app_id, guild_id, _command_id(request))
    return no_content()


@routes.get("/applications/{application_id}/guilds/{guild_id}/commands")
async def list_guild(request: web.Request) -> web.Response:
    app_id, guild_id = _scope(request, guild=True)
    return _listing(request, emulator(request).command_registry.list_commands(app_id, guild_id))


@routes.put("/applications/{application_id}/guilds/{guild_id}/commands")
async def overwrite_guild(request: web.Request) -> web.Response:
    app_id, guild_id = _scope(request, guild=True)
    return json_response(
        200, emulator(request).command_registry.overwrite(app_id, guild_id, body(request))
    )


@routes.post("/applications/{application_id}/guilds/{guild_id}/commands")
async def create_guild(request: web.Request) -> web.Response:
    app_id, guild_id = _scope(request, guild=True)
    command, created = emulator(request).command_registry.create(app_id, guild_id, body(request))
    return json_response(201 if created else 200, command)


@routes.get("/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
async def get_guild(request: web.Request) -> web.Response:
    app_id, guild_id = _scope(request, guild=True)
    return json_response(
        200, emulator(request).command_registry.get(app_id, guild_id, _command_id(request))
    )


@routes.patch("/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
async def edit_guild(request: web.Request) -> web.Response:
    app_id, guild_id = _scope(request, guild=True)
    registry = emulator(request).command_registry
    return json_response(200, registry.edit(app_id, guild_id, _command_id(request), body(request)))


@routes.delete("/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
async def delete_guild(request: web.Request) -> web.Response:
    app_id, guild_id = _scope(request, guild=True)
    emulator(request).command_registry.delete(app_id, guild_id, _command_id(request))
    return no_content()
