"""Helpers shared by the REST route modules: typed access to the emulator and request data.

Responses are built by hand because discord.py only decodes JSON when Content-Type is exactly
``application/json`` (aiohttp's ``json_response`` appends a charset).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import errors
from .errors import APIError
from .messages import UploadedFile
from .state import Application, Guild

if TYPE_CHECKING:
    from .emulator import DiscordEmulator

API_PREFIX = "/api/v10"
EMULATOR_KEY: web.AppKey[DiscordEmulator] = web.AppKey("emulator")


@dataclass
class RequestContext:
    """What the edge middleware learned about the request being handled."""

    bot_app: Application | None = None
    body: Any = None
    files: list[UploadedFile] = field(default_factory=list)


# Set by the middleware for the task handling one request.
current: ContextVar[RequestContext] = ContextVar("emulator_request")


@dataclass(frozen=True)
class RecordedRequest:
    """One REST request as the emulator saw it (path and route without the /api/v10 prefix)."""

    method: str
    path: str
    route: str
    status: int
    json: Any
    at: float
    # The bot that made it (None for token routes: interactions, webhooks, unauthenticated).
    application_id: int | None = None
    # For a 429: "global" (the bot's 50/s, or an injected global one) or "route" (a bucket).
    rate_limit_scope: str | None = None


def json_response(
    status: int, payload: Any, headers: Mapping[str, str] | None = None
) -> web.Response:
    merged = {"Content-Type": "application/json"}
    if headers:
        merged.update(headers)
    return web.Response(status=status, body=json.dumps(payload).encode(), headers=merged)


def no_content(headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(status=204, headers=dict(headers or {}))


def emulator(request: web.Request) -> DiscordEmulator:
    return request.app[EMULATOR_KEY]


def bot_app(request: web.Request) -> Application:
    app = current.get().bot_app
    if app is None:
        raise errors.unauthorized()
    return app


def body(request: web.Request) -> Any:
    return current.get().body


def files(request: web.Request) -> list[UploadedFile]:
    return current.get().files


def snowflake(request: web.Request, name: str, error: APIError) -> int:
    """A path id; Discord answers 404 with the resource's error for ids that cannot exist."""
    raw = request.match_info[name]
    try:
        value = int(raw)
    except ValueError:
        raise error from None
    if value <= 0 or value >= 2**64:
        raise error
    return value


def guild_for_bot(request: web.Request) -> Guild:
    """The path's guild: 10004 when it does not exist, 50001 when the bot is not a member."""
    app = bot_app(request)
    guild_id = snowflake(request, "guild_id", errors.unknown_guild())
    guild = emulator(request).world.guilds.get(guild_id)
    if guild is None:
        raise errors.unknown_guild()
    if app.bot_user.id not in guild.members:
        raise errors.missing_access()
    return guild


def query_flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true")
