"""Feeding a prepared stream of member actions to the connected bots, at the pace each one reads.

A benchmark wants the bots to be the bottleneck, not the emulator making events. So a feed has
two steps:

- **prepare**: the actions are applied to the world through the same services as
  ``DiscordEmulator``'s user actions (so every payload is the one the emulator always sends),
  while every live session is *held*: its frames are numbered and kept in order
  (``GatewaySession.held``) instead of being sent;
- **start**: each held session gets a pump that hands its frames to the websocket writer,
  either as fast as the client reads them (a few hundred frames in the writer's queue at a time;
  the writer itself waits for the socket to drain, so a slow client slows only its own pump) or
  on the stream's own schedule (each action's ``at``, in seconds, divided by ``speed``; frames
  that are due go out whether or not the client keeps up, as on Discord).

Actions are plain JSON objects, so another process can send them (see ``emulator.control``)::

    {"do": "message", "channel": REF, "author": REF, "content": "...", "reply_to": REF}
    {"do": "thread", "channel": REF, "author": REF, "name": "...", "message": REF}
    {"do": "react" | "unreact", "channel": REF, "message": REF, "user": REF, "emoji": "👍"}
    {"do": "delete", "message": REF, "user": REF}

``reply_to`` and ``message`` (for a thread) are optional; any action may carry ``"at"``. A REF is
an id, or ``"$N"``: the id made by action N of the same stream (a message's id, a thread's id).
Times in ``stats`` are ``time.monotonic()``, which other processes on the machine share. What a
client has *read* comes from the sequence number its heartbeats carry (a short
``--heartbeat-interval-ms`` makes that finer): frames sent may still sit in socket buffers.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .gateway import GatewaySession

if TYPE_CHECKING:
    from .emulator import DiscordEmulator

# Frames in a connection's writer queue at a time when pumping as fast as the client reads.
WINDOW = 256
POLL = 0.001
# Actions applied between yields to the event loop while preparing (heartbeats keep flowing).
PREPARE_SLICE = 500


class FeedError(ValueError):
    """An action the emulator refused, with its index in the stream."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"action {index}: {reason}")
        self.index = index


@dataclass(eq=False)
class _Pump:
    session: GatewaySession
    first_seq: int  # the session's sequence number before the feed's first frame
    frames_after: list[int] = field(default_factory=list)  # frames held after each action
    pushed: int = 0
    started_at: float | None = None
    finished_at: float | None = None

    def stats(self) -> dict[str, Any]:
        session = self.session
        connection = session.connection
        queued = connection.queue.qsize() if connection is not None else 0
        frames = self.frames_after[-1] if self.frames_after else 0
        beat = session.heartbeat_seq
        return {
            "session_id": session.session_id,
            "application_id": str(session.application_id),
            "frames": frames,
            "pushed": self.pushed,
            "sent": self.pushed - queued,
            # What the client has read, by its last heartbeat's sequence number, and when.
            "read": 0 if beat is None else min(max(beat - self.first_seq, 0), frames),
            "read_at": session.heartbeat_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


class Feed:
    """One prepared stream and the pumps that deliver it."""

    def __init__(self, emulator: DiscordEmulator, feed_id: int) -> None:
        self.id = feed_id
        self._emu = emulator
        self._pumps: list[_Pump] = []
        self._ats: list[float] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.ids: list[int | None] = []

    @property
    def started(self) -> bool:
        return bool(self._tasks)

    async def prepare(self, actions: Sequence[Mapping[str, Any]]) -> None:
        """Apply every action with the live sessions held; raises ``FeedError`` (sessions freed)."""
        sessions = [s for s in self._emu.hub.live_sessions() if s.connection is not None]
        if any(s.held is not None for s in sessions):
            raise FeedError(0, "a session is already held by another feed")
        for session in sessions:
            session.held = deque()
            self._pumps.append(_Pump(session, session.seq))
        try:
            for index, action in enumerate(actions):
                self.ids.append(await self._apply(index, action))
                self._ats.append(float(action.get("at", 0.0)))
                for pump in self._pumps:
                    held = pump.session.held
                    pump.frames_after.append(len(held) if held is not None else 0)
                if index % PREPARE_SLICE == PREPARE_SLICE - 1:
                    await asyncio.sleep(0)
        except BaseException:
            self.release()
            raise

    def sessions(self) -> dict[str, dict[str, Any]]:
        """Per held session: its application and the frames held after each action."""
        return {
            pump.session.session_id: {
                "application_id": str(pump.session.application_id),
                "frames_after": pump.frames_after,
            }
            for pump in self._pumps
        }

    def start(self, speed: float | None = None) -> None:
        """Deliver: as fast as each client reads (``speed`` None), or on schedule at ``speed``."""
        if self.started:
            raise RuntimeError("the feed was started already")
        loop = asyncio.get_running_loop()
        for pump in self._pumps:
            pump.started_at = time.monotonic()
            work = self._drain(pump) if speed is None else self._on_schedule(pump, speed)
            self._tasks.append(loop.create_task(work, name=f"emulator-feed-{self.id}"))

    def stats(self) -> dict[str, Any]:
        return {
            "feed": self.id,
            "actions": len(self.ids),
            "done": bool(self._tasks) and all(task.done() for task in self._tasks),
            "sessions": [pump.stats() for pump in self._pumps],
        }

    def release(self) -> None:
        """Stop holding: whatever is still held goes to the connection at once."""
        for task in self._tasks:
            task.cancel()
        for pump in self._pumps:
            self._finish(pump)

    # -- delivery ------------------------------------------------------------------------------

    async def _drain(self, pump: _Pump) -> None:
        session = pump.session
        while session.held:
            connection = session.connection
            if connection is not None and not connection.closing:
                room = min(WINDOW - connection.queue.qsize(), len(session.held))
                for _ in range(room):
                    connection.send(session.held.popleft())
                pump.pushed += max(room, 0)
            await asyncio.sleep(POLL)
        self._finish(pump)

    async def _on_schedule(self, pump: _Pump, speed: float) -> None:
        session = pump.session
        begun = time.monotonic()
        while session.held:
            elapsed = (time.monotonic() - begun) * speed
            due_actions = bisect.bisect_right(self._ats, elapsed)
            due = pump.frames_after[due_actions - 1] if due_actions else 0
            connection = session.connection
            if connection is not None and not connection.closing:
                count = min(due - pump.pushed, len(session.held))
                for _ in range(count):
                    connection.send(session.held.popleft())
                pump.pushed += max(count, 0)
            if due_actions < len(self._ats):
                wait = (self._ats[due_actions] - elapsed) / speed
                await asyncio.sleep(min(max(wait, POLL), 0.05))
            else:
                await asyncio.sleep(POLL)
        self._finish(pump)

    def _finish(self, pump: _Pump) -> None:
        session = pump.session
        held, session.held = session.held, None
        if held and session.connection is not None:
            for frame in held:
                session.connection.send(frame)
            pump.pushed += len(held)
        if pump.finished_at is None:
            pump.finished_at = time.monotonic()

    # -- actions -------------------------------------------------------------------------------

    async def _apply(self, index: int, action: Mapping[str, Any]) -> int | None:
        def ref(key: str) -> int:
            value = action.get(key)
            if isinstance(value, str) and value.startswith("$"):
                made = self.ids[int(value[1:])] if int(value[1:]) < index else None
                if made is None:
                    raise FeedError(index, f"{key} refers to {value}, which made no id")
                return made
            if value is None:
                raise FeedError(index, f"{key} is missing")
            return int(value)

        def optional(key: str) -> int | None:
            return ref(key) if action.get(key) is not None else None

        emu = self._emu
        kind = action.get("do")
        try:
            if kind == "message":
                message = await emu.send_message(
                    ref("channel"),
                    ref("author"),
                    str(action.get("content", "…")),
                    optional("reply_to"),
                    mention_author=bool(action.get("mention_author", True)),
                )
                return message.id
            if kind == "thread":
                name = str(action.get("name", "thread"))
                thread = await emu.create_thread(
                    ref("channel"), ref("author"), name, optional("message")
                )
                return thread.id
            if kind in ("react", "unreact"):
                change = emu.add_reaction if kind == "react" else emu.remove_reaction
                await change(ref("channel"), ref("message"), ref("user"), str(action["emoji"]))
                return None
            if kind == "delete":
                await emu.delete_message(ref("message"), ref("user"))
                return None
        except (ValueError, PermissionError, KeyError) as error:
            if isinstance(error, FeedError):
                raise
            raise FeedError(index, str(error)) from error
        raise FeedError(index, f"unknown action {kind!r}")
