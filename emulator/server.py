"""The aiohttp application: REST routes under /api/v10 plus the gateway websocket.

One middleware does what Discord's edge does for every REST call, in order: route matching
(404/405), bot authentication (401), body decoding (JSON or multipart with ``payload_json``),
rate limiting (429 with headers), error rendering, and recording the request for tests.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web
from aiohttp.typedefs import Handler

from . import (
    errors,
    routes_commands,
    routes_core,
    routes_interactions,
    routes_reactions,
    routes_threads,
)
from .errors import APIError
from .messages import UploadedFile
from .rest import API_PREFIX, EMULATOR_KEY, RecordedRequest, RequestContext, current, json_response
from .state import Application

if TYPE_CHECKING:
    from .emulator import DiscordEmulator

log = logging.getLogger(__name__)

GATEWAY_PATH = "/gateway"
RESUME_GATEWAY_PATH = "/gateway/resume"
MAX_BODY = 26 * 1024 * 1024
_TOKEN_ROUTES = ("/interactions/", "/webhooks/")
_FILE_FIELD = re.compile(r"^files\[(\d+)\]$")


def build_app(emu: DiscordEmulator) -> web.Application:
    app = web.Application(middlewares=[_discord_edge], client_max_size=MAX_BODY)
    app[EMULATOR_KEY] = emu
    for table in (
        routes_core.routes,
        routes_reactions.routes,
        routes_commands.routes,
        routes_interactions.routes,
        routes_threads.routes,
    ):
        for route in table:
            if isinstance(route, web.RouteDef):
                app.router.add_route(route.method, API_PREFIX + route.path, route.handler)
    app.router.add_get(GATEWAY_PATH, emu.hub.handle)
    app.router.add_get(RESUME_GATEWAY_PATH, emu.hub.handle)
    return app


def _authenticate(request: web.Request, emu: DiscordEmulator) -> Application:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bot "):
        raise errors.unauthorized()
    app = emu.world.application_by_token(header[4:].strip())
    if app is None:
        raise errors.unauthorized()
    return app


def _major(match_info: dict[str, str]) -> str:
    for keys in (
        ("channel_id",),
        ("guild_id",),
        ("webhook_id", "webhook_token"),
        ("interaction_id", "interaction_token"),
    ):
        if all(k in match_info for k in keys):
            return "+".join(match_info[k] for k in keys)
    return ""


async def _read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
    if request.method in ("GET", "HEAD", "DELETE") or not request.body_exists:
        return None, []
    content_type = request.content_type
    if content_type == "multipart/form-data":
        return await _read_multipart(request)
    raw = await request.read()
    if not raw:
        return None, []
    if content_type != "application/json":
        raise errors.form_error(
            (),
            "CONTENT_TYPE_INVALID",
            'Expected "Content-Type" header to be one of '
            "{'application/json', 'multipart/form-data'}.",
        )
    try:
        return json.loads(raw), []
    except ValueError:
        raise errors.invalid_json() from None


async def _read_multipart(request: web.Request) -> tuple[Any, list[UploadedFile]]:
    reader = await request.multipart()
    payload: Any = None
    uploads: list[tuple[int, UploadedFile]] = []
    fields: dict[str, str] = {}
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            continue
        name = part.name or ""
        if part.filename is not None:
            data = bytes(await part.read(decode=False))
            match = _FILE_FIELD.match(name)
            index = int(match.group(1)) if match else len(uploads)
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            uploads.append((index, UploadedFile(name, part.filename, content_type, data)))
        elif name == "payload_json":
            try:
                payload = json.loads(await part.text())
            except ValueError:
                raise errors.invalid_json() from None
        else:
            fields[name] = await part.text()
    if payload is None and fields:
        payload = dict(fields)
    uploads.sort(key=lambda item: item[0])
    return payload, [upload for _, upload in uploads]


@web.middleware
async def _discord_edge(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(API_PREFIX + "/"):
        return await handler(request)
    emu = request.app[EMULATOR_KEY]
    path = request.path[len(API_PREFIX) :]
    match_info = request.match_info
    route = path
    if match_info.http_exception is None:
        canonical = (
            match_info.route.resource.canonical if match_info.route.resource else request.path
        )
        route = canonical[len(API_PREFIX) :]
    recorded: Any = None
    headers: dict[str, str] = {}
    app: Application | None = None
    scope: str | None = None
    response: web.StreamResponse
    try:
        exception = match_info.http_exception
        if exception is not None:
            raise (
                errors.method_not_allowed() if exception.status == 405 else errors.not_found_route()
            )
        if not route.startswith(_TOKEN_ROUTES) and route != "/gateway":
            app = _authenticate(request, emu)
        await emu.wait_for_holds(request.method, path, route)
        outage = emu.take_outage(request.method, path, route)
        if outage is not None:
            raise APIError(outage, 0, "Service Unavailable")
        body_error: APIError | None = None
        uploads: list[UploadedFile] = []
        try:
            recorded, uploads = await _read_body(request)
        except APIError as error:
            body_error = error
        verdict = emu.rate_limiter.check(
            request.method,
            path,
            route,
            _major(dict(match_info)),
            None if app is None else str(app.id),
        )
        headers = verdict.headers
        if verdict.limited is not None:
            scope = "global" if verdict.limited.get("global") else "route"
            response = json_response(429, verdict.limited, headers)
        else:
            if body_error is not None:
                raise body_error
            token = current.set(RequestContext(bot_app=app, body=recorded, files=uploads))
            try:
                response = await handler(request)
            finally:
                current.reset(token)
            for key, value in headers.items():
                response.headers[key] = value
    except APIError as error:
        response = json_response(error.status, error.body(), headers)
    except Exception as exc:
        log.exception("emulator: internal error on %s %s", request.method, request.path)
        emu.internal_errors.append(exc)
        # Not a 500: discord.py would retry a 500 for ~25 s before failing, hiding the bug.
        response = json_response(
            400, {"message": f"Emulator internal error: {exc!r}", "code": 0}, headers
        )
    record = RecordedRequest(
        request.method,
        path,
        route,
        response.status,
        recorded,
        time.monotonic(),
        application_id=None if app is None else app.id,
        rate_limit_scope=scope,
    )
    emu.requests.append(record)
    for listener in emu.request_listeners:
        listener(record)
    return response
