"""The control API of a standalone emulator (``python -m emulator``): another process drives it.

A separate small HTTP server (its own port, so nothing of it can be mistaken for Discord's API)
lets a benchmark or test in another process build a world, see which bots are connected, and
feed them a prepared event stream. JSON in and out; ids are strings, as in Discord's payloads.

    GET  /health              the emulator's REST and gateway URLs
    POST /world               build a world (``emulator.world_spec``); every id and token by key
    GET  /sessions            gateway sessions: application, ready, connected, sequence
    POST /feeds               {"actions": [...]}: prepare a feed (``emulator.feed``) with every
                              live session held; answers the ids made and each session's frames
    POST /feeds/{id}/start    {"speed": null | number}: deliver (as fast as read, or on schedule)
    GET  /feeds/{id}          delivery progress per session
    GET  /requests            REST requests answered, with 429s and routes counted
                              (?application_id=, ?since= and ?until= in monotonic seconds)
    GET  /messages            ?author_id=ID [&after=ID]: that user's messages, with markers
    GET  /commands            ?application_id=ID: the names of that application's commands
    POST /load                run members' interactions against one bot and time them
                              (``emulator.load``): a closed loop or a paced stream
    POST /users/{id}/dms      {"open": false | true}: the user closes or reopens their DMs
    POST /shutdown            stop the process
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .feed import Feed, FeedError
from .load import LoadRun, LoadSpec, LoadSpecError
from .traffic import messages_by, request_counts
from .world_spec import build_world

if TYPE_CHECKING:
    from .emulator import DiscordEmulator

MAX_BODY = 256 * 1024 * 1024  # a stream of a few hundred thousand actions
_EMULATOR: web.AppKey[DiscordEmulator] = web.AppKey("control-emulator")
_FEEDS: web.AppKey[dict[int, Feed]] = web.AppKey("control-feeds")
_STOP: web.AppKey[asyncio.Event] = web.AppKey("control-stop")
routes = web.RouteTableDef()


def build_control_app(emu: DiscordEmulator, stop: asyncio.Event) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[_EMULATOR] = emu
    app[_FEEDS] = {}
    app[_STOP] = stop
    app.add_routes(routes)
    return app


def _emu(request: web.Request) -> DiscordEmulator:
    return request.app[_EMULATOR]


def _answer(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(data, ensure_ascii=False), content_type="application/json"
    )


def _refusal(reason: str, status: int = 400) -> web.Response:
    return _answer({"error": reason}, status)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    data = await request.json()
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return data


def _feed(request: web.Request) -> Feed:
    feed = request.app[_FEEDS].get(int(request.match_info["feed_id"]))
    if feed is None:
        raise web.HTTPNotFound(text="no such feed")
    return feed


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    emu = _emu(request)
    return _answer({"api_base_url": emu.api_base_url, "gateway_url": emu.gateway_url})


@routes.post("/world")
async def world(request: web.Request) -> web.Response:
    try:
        return _answer(build_world(_emu(request), await _body(request)))
    except (KeyError, ValueError, TypeError) as error:
        return _refusal(f"world spec: {error!r}")


@routes.get("/sessions")
async def sessions(request: web.Request) -> web.Response:
    return _answer(
        [
            {
                "session_id": s.session_id,
                "application_id": str(s.application_id),
                "ready": s.ready,
                "active": s.active,
                "connected": s.connected,
                "seq": s.seq,
            }
            for s in _emu(request).gateway_sessions
        ]
    )


@routes.post("/feeds")
async def prepare_feed(request: web.Request) -> web.Response:
    actions = (await _body(request)).get("actions")
    if not isinstance(actions, list):
        return _refusal('expected {"actions": [...]}')
    feeds = request.app[_FEEDS]
    feed = Feed(_emu(request), len(feeds) + 1)
    try:
        await feed.prepare(actions)
    except FeedError as error:
        return _refusal(str(error))
    feeds[feed.id] = feed
    return _answer(
        {
            "feed": feed.id,
            "ids": [None if made is None else str(made) for made in feed.ids],
            "sessions": feed.sessions(),
        }
    )


@routes.post("/feeds/{feed_id}/start")
async def start_feed(request: web.Request) -> web.Response:
    feed = _feed(request)
    speed = (await _body(request)).get("speed")
    if speed is not None and (not isinstance(speed, int | float) or speed <= 0):
        return _refusal("speed must be a positive number or null")
    if feed.started:
        return _refusal("the feed was started already", 409)
    feed.start(None if speed is None else float(speed))
    return _answer(feed.stats())


@routes.get("/feeds/{feed_id}")
async def feed_stats(request: web.Request) -> web.Response:
    return _answer(_feed(request).stats())


def _query_number(request: web.Request, name: str, kind: type[int] | type[float]) -> Any:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return kind(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be a number") from None


@routes.get("/requests")
async def requests_answered(request: web.Request) -> web.Response:
    return _answer(
        request_counts(
            _emu(request).requests,
            application_id=_query_number(request, "application_id", int),
            since=_query_number(request, "since", float),
            until=_query_number(request, "until", float),
        )
    )


@routes.get("/messages")
async def messages(request: web.Request) -> web.Response:
    author_id = _query_number(request, "author_id", int)
    if author_id is None:
        return _refusal("expected ?author_id=")
    after = _query_number(request, "after", int) or 0
    return _answer({"messages": messages_by(_emu(request).world, author_id, after=after)})


@routes.get("/commands")
async def command_names(request: web.Request) -> web.Response:
    application_id = _query_number(request, "application_id", int)
    if application_id is None:
        return _refusal("expected ?application_id=")
    scopes = _emu(request).command_registry.all_scopes()
    names = {
        command["name"]
        for (owner, _guild), commands in scopes.items()
        if owner == application_id
        for command in commands.values()
    }
    return _answer({"names": sorted(names)})


@routes.post("/load")
async def run_load(request: web.Request) -> web.Response:
    try:
        spec = LoadSpec.from_json(await _body(request))
    except LoadSpecError as error:
        return _refusal(str(error))
    return _answer(await LoadRun(_emu(request), spec).run())


@routes.post("/users/{user_id}/dms")
async def direct_messages(request: web.Request) -> web.Response:
    emu = _emu(request)
    opened = (await _body(request)).get("open")
    if not isinstance(opened, bool):
        return _refusal('expected {"open": true | false}')
    try:
        user_id = int(request.match_info["user_id"])
        if opened:
            emu.open_dms(user_id)
        else:
            emu.close_dms(user_id)
    except ValueError as error:
        return _refusal(str(error), 404)
    return _answer({"user_id": str(user_id), "open": opened})


@routes.post("/shutdown")
async def shutdown(request: web.Request) -> web.Response:
    request.app[_STOP].set()
    return _answer({"stopping": True})
