"""The gateway: websocket connections, sessions, dispatch with sequence numbers, and resuming.

A *session* (what IDENTIFY creates) outlives its websocket: every event dispatched to it gets the
next sequence number and is kept in a replay buffer, so a client that RESUMEs after a RECONNECT or
a dropped connection receives exactly the events it missed. Each websocket has one writer task
that sends queued frames in order, which lets the rest of the emulator dispatch synchronously.

HEARTBEAT_ACK goes out a few milliseconds after the HEARTBEAT, like a real network round trip:
discord.py's keep-alive thread records when it sent a heartbeat only after the send completes, so
an ACK handled before that moment is measured against the previous heartbeat and discord.py
reports the connection as a whole interval behind ("Can't keep up ... websocket is 41s behind").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .compression import Compressor
from .gateway_payloads import guild_create_payload, ready_payload
from .intents import ALL_INTENTS, PRIVILEGED_INTENTS, Intent, required_intent, strip_message_content
from .permissions import P
from .state import Application, Guild
from .world import World

log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE_UPDATE, VOICE_STATE_UPDATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_GUILD_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11
REPLAY_BUFFER = 5000
SEND_LIMIT_PER_MINUTE = 120
HEARTBEAT_ACK_DELAY = 0.01  # seconds; a quick round trip, long enough for the client's bookkeeping

Listener = Callable[[str, dict[str, Any]], None]
_CLOSE = object()


class Connection:
    """One websocket; frames go through a queue so sends never interleave."""

    def __init__(
        self, ws: web.WebSocketResponse, request: web.Request, compression: str | None
    ) -> None:
        self.ws = ws
        self.request = request
        self.compressor = Compressor(compression)
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.session: GatewaySession | None = None
        self.closing = False
        self.received: deque[float] = deque()
        self.scheduled: set[asyncio.TimerHandle] = set()
        self.writer = asyncio.get_running_loop().create_task(self._write())

    def send(self, frame: str) -> None:
        if not self.closing:
            self.queue.put_nowait(frame)

    def send_op(self, op: int, data: Any) -> None:
        self.send(json.dumps({"op": op, "d": data, "s": None, "t": None}))

    def send_op_later(self, delay: float, op: int, data: Any) -> None:
        """Queue a frame after ``delay`` seconds; frames queued meanwhile are not held back."""

        def due() -> None:
            self.scheduled.discard(handle)
            self.send_op(op, data)

        handle = asyncio.get_running_loop().call_later(delay, due)
        self.scheduled.add(handle)

    def cancel_scheduled(self) -> None:
        for handle in self.scheduled:
            handle.cancel()
        self.scheduled.clear()

    def close(self, code: int) -> None:
        """Close after everything queued so far was sent."""
        if not self.closing:
            self.closing = True
            self.queue.put_nowait((_CLOSE, code))

    def abort(self) -> None:
        """Drop the TCP connection without a close frame, like a network failure."""
        self.closing = True
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    async def _write(self) -> None:
        try:
            while True:
                item = await self.queue.get()
                if isinstance(item, tuple) and item and item[0] is _CLOSE:
                    await self.ws.close(code=item[1])
                    return
                if self.ws.closed:
                    return
                encoded = self.compressor.encode(item)
                if isinstance(encoded, bytes):
                    await self.ws.send_bytes(encoded)
                else:
                    await self.ws.send_str(encoded)
        except (ConnectionError, RuntimeError) as exc:
            log.debug("gateway writer stopped: %s", exc)


@dataclass(eq=False)
class GatewaySession:
    """An identified session; survives reconnects until invalidated or closed with 1000/1001."""

    session_id: str
    application_id: int
    intents: int
    shard: tuple[int, int] | None
    seq: int = 0
    identified: bool = True
    resumed_count: int = 0
    ready: bool = False
    active: bool = True
    connection: Connection | None = field(default=None, repr=False)
    buffer: deque[tuple[int, str]] = field(
        default_factory=lambda: deque(maxlen=REPLAY_BUFFER), repr=False
    )
    # While a feed holds the session (``emulator.feed``), dispatched frames wait here, in order,
    # and the feed hands them to the connection at the pace the client reads them.
    held: deque[str] | None = field(default=None, repr=False)
    # The sequence number the client's last HEARTBEAT carried (what it has read) and when.
    heartbeat_seq: int | None = None
    heartbeat_at: float | None = None

    @property
    def connected(self) -> bool:
        return self.connection is not None and not self.connection.closing

    def owns_guild(self, guild_id: int) -> bool:
        if self.shard is None:
            return True
        shard_id, count = self.shard
        return (guild_id >> 22) % count == shard_id

    def dispatch(self, event: str, data: Any) -> None:
        self.seq += 1
        frame = json.dumps({"op": DISPATCH, "t": event, "s": self.seq, "d": data})
        self.buffer.append((self.seq, frame))
        if self.held is not None:
            self.held.append(frame)
        elif self.connection is not None:
            self.connection.send(frame)

    def replay_last(self, count: int) -> int:
        """Send the newest ``count`` buffered frames again, as they were (same ``s``)."""
        if self.connection is None or count <= 0:
            return 0
        frames = list(self.buffer)[-count:]
        for _, frame in frames:
            self.connection.send(frame)
        return len(frames)


class GatewayHub:
    """All sessions and connections, plus the event fan-out used by the rest of the emulator."""

    def __init__(
        self,
        world: World,
        *,
        heartbeat_interval_ms: int,
        heartbeat_ack_delay: float = HEARTBEAT_ACK_DELAY,
    ) -> None:
        self.world = world
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.heartbeat_ack_delay = heartbeat_ack_delay
        self.sessions: list[GatewaySession] = []
        self.connections: set[Connection] = set()
        self.listeners: list[Listener] = []
        self.resume_url = ""
        self._ready_changed = asyncio.Event()

    # -- fan-out --------------------------------------------------------------------------------

    def notify(self, event: str, data: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            try:
                listener(event, data)
            except Exception:
                log.exception("emulator listener %r failed on %s", listener, event)

    def live_sessions(self, application_id: int | None = None) -> list[GatewaySession]:
        return [
            s
            for s in self.sessions
            if s.active and (application_id is None or s.application_id == application_id)
        ]

    def emit(
        self,
        event: str,
        data: dict[str, Any],
        *,
        guild_id: int | None = None,
        application_id: int | None = None,
        shard_guild_id: int | None = None,
        exclude_application_id: int | None = None,
        recipients: Collection[int] | None = None,
        channel_id: int | None = None,
    ) -> None:
        """Dispatch an event to every session entitled to it (membership, shard, intents).

        ``recipients`` limits a DM event to the bots taking part in the conversation;
        ``channel_id`` limits an event about something in a guild channel or thread to the bots
        that can view it, as Discord does for messages, reactions and threads.
        """
        self.notify(event, data)
        intent = required_intent(event, in_guild=guild_id is not None)
        for session in self.live_sessions(application_id):
            app = self.world.applications.get(session.application_id)
            if app is None or app.id == exclude_application_id:
                continue
            if recipients is not None and app.bot_user.id not in recipients:
                continue
            routing_guild = guild_id if guild_id is not None else shard_guild_id
            if routing_guild is not None and not session.owns_guild(routing_guild):
                continue
            if guild_id is not None and self.world.member(guild_id, app.bot_user.id) is None:
                continue
            if (
                guild_id is None
                and shard_guild_id is None
                and session.shard
                and session.shard[0] != 0
            ):
                continue  # DMs and guild-less events go to shard 0
            if intent and not session.intents & intent:
                continue
            if channel_id is not None and not self._can_view(channel_id, app.bot_user.id):
                continue
            payload = data
            if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
                payload = strip_message_content(
                    data, bot_user_id=app.bot_user.id, intents=session.intents
                )
            session.dispatch(event, payload)

    def _can_view(self, channel_id: int, user_id: int) -> bool:
        channel = self.world.channels.get(channel_id)
        if channel is None or channel.guild_id is None:
            return True  # gone already, or a DM (``recipients`` decides)
        return bool(self.world.channel_permissions(channel_id, user_id) & P.VIEW_CHANNEL)

    def send_guild_create(self, guild: Guild, application: Application) -> None:
        """A bot joined a guild while connected: its session(s) for that shard get GUILD_CREATE."""
        for session in self.live_sessions(application.id):
            if session.owns_guild(guild.id) and session.intents & Intent.GUILDS:
                payload = guild_create_payload(self.world, guild, application, session.intents)
                del payload[
                    "unavailable"
                ]  # absent for a join; present for outages and READY guilds
                session.dispatch("GUILD_CREATE", payload)
        self.notify("GUILD_CREATE", guild.to_payload())

    # -- faults ---------------------------------------------------------------------------------

    def replay_last(self, count: int, *, application_id: int | None = None) -> int:
        """Duplicate delivery: each connected session gets its last ``count`` dispatches again."""
        return sum(s.replay_last(count) for s in self.live_sessions(application_id))

    def send_reconnect(self) -> None:
        for connection in list(self.connections):
            if connection.session is not None:
                connection.send_op(RECONNECT, None)

    def drop_connections(self, *, abrupt: bool) -> None:
        for connection in list(self.connections):
            if abrupt:
                connection.abort()
            else:
                connection.close(4000)

    def invalidate_sessions(self, *, resumable: bool) -> None:
        for connection in list(self.connections):
            session = connection.session
            if session is None:
                continue
            if not resumable:
                self._end(session)
            connection.send_op(INVALID_SESSION, resumable)

    def _end(self, session: GatewaySession) -> None:
        session.active = False
        if session.connection is not None:
            session.connection.session = None
        session.connection = None

    async def wait_until_ready(self, seconds: float) -> None:
        async with asyncio.timeout(seconds):
            while not any(s.ready for s in self.live_sessions()):
                self._ready_changed.clear()
                await self._ready_changed.wait()

    def close_all(self) -> None:
        for connection in list(self.connections):
            connection.close(1001)

    # -- websocket handling ---------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=4 * 1024 * 1024)
        await ws.prepare(request)
        compression = request.query.get("compress")
        connection = Connection(
            ws, request, compression if compression in ("zlib-stream", "zstd-stream") else None
        )
        self.connections.add(connection)
        try:
            version = request.query.get("v", "10")
            if version not in ("9", "10"):
                connection.close(4012)
            elif request.query.get("encoding", "json") != "json":
                connection.close(4002)
            else:
                connection.send_op(
                    HELLO,
                    {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ['["emulator"]']},
                )
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._receive(connection, message.data)
                elif message.type == WSMsgType.BINARY:
                    connection.close(4002)
                if connection.closing:
                    continue
        finally:
            self.connections.discard(connection)
            connection.cancel_scheduled()
            self._disconnected(connection, ws.close_code)
            if not connection.writer.done():
                connection.writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await connection.writer
        return ws

    def _disconnected(self, connection: Connection, close_code: int | None) -> None:
        session = connection.session
        if session is None or session.connection is not connection:
            return
        session.connection = None
        connection.session = None
        if close_code in (1000, 1001) and not connection.closing:
            # A client closing cleanly ends its session, like Discord.
            session.active = False

    def _receive(self, connection: Connection, raw: str) -> None:
        if connection.closing:
            return
        now = time.monotonic()
        connection.received.append(now)
        while connection.received and now - connection.received[0] > 60:
            connection.received.popleft()
        if len(connection.received) > SEND_LIMIT_PER_MINUTE:
            connection.close(4008)
            return
        try:
            frame = json.loads(raw)
            op = frame["op"]
            data = frame.get("d")
        except (ValueError, KeyError, TypeError):
            connection.close(4002)
            return
        if op == HEARTBEAT:
            if connection.session is not None and isinstance(data, int):
                connection.session.heartbeat_seq, connection.session.heartbeat_at = data, now
            connection.send_op_later(self.heartbeat_ack_delay, HEARTBEAT_ACK, None)
        elif op == IDENTIFY:
            self._identify(connection, data)
        elif op == RESUME:
            self._resume(connection, data)
        elif op in (PRESENCE_UPDATE, VOICE_STATE_UPDATE, REQUEST_GUILD_MEMBERS):
            if connection.session is None:
                connection.close(4003)
            elif op == REQUEST_GUILD_MEMBERS:
                self._request_members(connection.session, data)
        else:
            connection.close(4001)

    def _authenticate(self, connection: Connection, token: str) -> Application | None:
        """The application an IDENTIFY/RESUME token belongs to; closes with 4004 if none."""
        app = self.world.application_by_token(token.removeprefix("Bot "))
        if app is None:
            connection.close(4004)
        return app

    def _identify(self, connection: Connection, data: Any) -> None:
        if connection.session is not None:
            connection.close(4005)
            return
        if not isinstance(data, dict) or not isinstance(data.get("token"), str):
            connection.close(4002)
            return
        app = self._authenticate(connection, data["token"])
        if app is None:
            return
        intents = data.get("intents")
        if (
            not isinstance(intents, int)
            or isinstance(intents, bool)
            or intents < 0
            or intents & ~ALL_INTENTS
        ):
            connection.close(4013)
            return
        if intents & PRIVILEGED_INTENTS & ~app.privileged_intents:
            connection.close(4014)
            return
        shard = data.get("shard")
        shard_info: tuple[int, int] | None = None
        if shard is not None:
            if (
                not isinstance(shard, list)
                or len(shard) != 2
                or not all(isinstance(v, int) for v in shard)
                or shard[1] < 1
                or not 0 <= shard[0] < shard[1]
            ):
                connection.close(4010)
                return
            shard_info = (shard[0], shard[1])
        session = GatewaySession(
            session_id=secrets.token_hex(16),
            application_id=app.id,
            intents=intents,
            shard=shard_info,
        )
        session.connection = connection
        connection.session = session
        self.sessions.append(session)
        guilds = [g for g in self.world.guilds_of(app.bot_user.id) if session.owns_guild(g.id)]
        ready = ready_payload(app, session.session_id, self.resume_url, guilds, shard_info)
        session.dispatch("READY", ready)
        self.notify("READY", ready)
        for guild in guilds:
            session.dispatch("GUILD_CREATE", guild_create_payload(self.world, guild, app, intents))
        session.ready = True
        self._ready_changed.set()

    def _resume(self, connection: Connection, data: Any) -> None:
        if connection.session is not None:
            connection.close(4005)
            return
        if not isinstance(data, dict):
            connection.close(4002)
            return
        session = next((s for s in self.sessions if s.session_id == data.get("session_id")), None)
        app = self._authenticate(connection, str(data.get("token", "")))
        if app is None:
            return
        seq = data.get("seq")
        if (
            session is None
            or not session.active
            or session.application_id != app.id
            or not isinstance(seq, int)
            or seq > session.seq
            or (session.buffer and session.buffer[0][0] > seq + 1)
        ):
            connection.send_op(INVALID_SESSION, False)
            return
        previous = session.connection
        if previous is not None and previous is not connection:
            previous.session = None
            previous.close(4000)
        for frame_seq, frame in session.buffer:
            if frame_seq > seq:
                connection.send(frame)
        session.connection = connection
        connection.session = session
        session.resumed_count += 1
        session.dispatch("RESUMED", {"_trace": ['["emulator"]']})
        self.notify("RESUMED", {"session_id": session.session_id})

    def _request_members(self, session: GatewaySession, data: Any) -> None:
        if not isinstance(data, dict):
            return
        try:
            guild = self.world.guilds[int(data["guild_id"])]
        except (KeyError, ValueError, TypeError):
            return
        members = list(guild.members.values())
        query = data.get("query")
        user_ids = data.get("user_ids")
        if user_ids is not None:
            wanted = {int(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])}
            members = [m for m in members if m.user.id in wanted]
        elif isinstance(query, str):
            if not query and not session.intents & Intent.GUILD_MEMBERS:
                members = []
            members = [m for m in members if m.user.username.lower().startswith(query.lower())]
            limit = data.get("limit") or 0
            if limit:
                members = members[:limit]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": [m.to_payload() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        if data.get("presences"):
            chunk["presences"] = []
        session.dispatch("GUILD_MEMBERS_CHUNK", chunk)
