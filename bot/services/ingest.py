"""Passive signals, buffered and stored in batches: a busy server costs one transaction a second.

Signals are queued as they arrive and written together at least every second (or sooner when a
batch fills up), and whatever is queued is written on a clean stop, so a stop loses nothing and a
crash at most the last second. The queue is bounded: when the database falls behind, offering a
signal waits for room instead of letting memory grow without limit.

The batches are written on a thread of their own, with its own event loop and database engine.
Under a burst of gateway traffic discord.py parses thousands of events per turn of the bot's
event loop, and every database round trip waits for the next turn: on the bot's loop a batch of
a few dozen round trips would not commit until the burst was over, and the queue would fill.
On its own loop the writer keeps committing while the bot reads.

The writer shares the GIL with the thread reading the gateway: whatever it does in Python, and
every time it takes the GIL back, slows the reading down. Each batch is written in one
transaction by ``SignalBatchWriter``, with a handful of set-based statements whatever its size
(on SQLite each one a single step of the driver, see ``bot.services.network._Bulk``).
Signals by or about members who paused tracking are dropped there, by a look-up in memory
(``PausedMembers``), never a query per signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from datetime import datetime
from typing import Any, TypeVar

from bot.db import Database, utcnow
from bot.errors import DatabaseUnavailable
from bot.services.pausing import PausedMembers
from bot.services.signal_batch import SignalBatchWriter
from bot.services.signals import Signal

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 1.0
# The writer is woken early when this many signals are queued. Bigger batches cost less per
# signal (the same few statements and one commit, over more rows: about 100 µs of CPU a signal
# in batches of 1,000, 70 µs in batches of 10,000), so under a burst a batch is what arrived in
# a second rather than a slice of it.
BATCH_SIZE = 5000
# A batch takes everything queued up to this: when signals arrive faster than batches of
# BATCH_SIZE are written, bigger batches let the writer catch up instead of falling further
# behind. It bounds how long one batch holds SQLite's write lock (about a second at most, on
# a busy machine).
MAX_BATCH = 10_000
CAPACITY = 20_000
# How long an answer waits for the signals queued before it; then it is a second behind.
CATCH_UP_WAIT = 3.0
# The longest discord.py's reading is held for room (its heartbeat interval is about 41 s).
HOLD_LIMIT = 10.0
ROOM_POLL = 0.1

_T = TypeVar("_T")


class _WriterLoop:
    """A thread running an event loop, with its own engine on the bot's database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.database: Database | None = None
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="pln-ingest-writer", daemon=True
        )
        self._thread.start()

    def submit(self, coroutine: Coroutine[Any, Any, _T]) -> Future[_T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def engine(self) -> Database:
        """The writer's engine, made on its own loop (connections belong to one loop)."""
        if self.database is None:
            self.database = Database(self.url)
        return self.database

    async def close(self) -> None:
        """Dispose of the engine and end the thread (from the bot's loop)."""

        async def dispose() -> None:
            if self.database is not None:
                await self.database.dispose()

        await asyncio.wrap_future(self.submit(dispose()))
        self.loop.call_soon_threadsafe(self.loop.stop)
        await asyncio.to_thread(self._thread.join)
        self.loop.close()


def _in_memory(url: str) -> bool:
    """An in-memory SQLite database is private to its engine: no second engine can write it."""
    return url.startswith("sqlite") and (":memory:" in url or url.rstrip("/").endswith(":"))


class PassiveIngest:
    def __init__(
        self,
        database: Database,
        *,
        flush_interval: float = FLUSH_INTERVAL,
        batch_size: int = BATCH_SIZE,
        max_batch: int = MAX_BATCH,
        capacity: int = CAPACITY,
        clock: Callable[[], datetime] = utcnow,
        paused: PausedMembers | None = None,
    ) -> None:
        """``paused``: members who paused tracking (kept current by the privacy service)."""
        self._database = database
        self._flush_interval = flush_interval
        self._batch_size = batch_size
        self._max_batch = max(max_batch, batch_size)
        # Signals waiting to be stored, and the room left for more: a slot is given back only
        # once its signal is stored, so a batch that failed keeps its place and its room. The
        # queue is shared with the writer's thread, under ``_guard``.
        self._pending: deque[Signal] = deque()
        self._guard = threading.Lock()
        # Room left in the queue (changed on the bot's loop only). Signals offered while it is
        # full wait, in order, in the overflow; a drainer moves them in as room comes back.
        self._free = capacity
        self._capacity = capacity
        self._room = threading.Condition(self._guard)
        self._overflow: deque[Signal] = deque()
        self._room_changed = asyncio.Event()
        self._drainer: asyncio.Task[None] | None = None
        self._offered = 0
        self._stored = 0
        self._clock = clock
        self._writer = SignalBatchWriter(paused)
        self._own_loop = not _in_memory(database.url)
        self._worker: _WriterLoop | None = None
        self._bot_loop: asyncio.AbstractEventLoop | None = None
        # Live on the writer's loop (or the bot's, without a thread of its own).
        self._flusher: asyncio.Task[None] | None = None
        self._lock: asyncio.Lock | None = None
        self._kick: asyncio.Event | None = None

    @property
    def backlog(self) -> int:
        """Signals not stored yet: queued, and waiting for room."""
        return len(self._pending) + len(self._overflow)

    @property
    def queued(self) -> int:
        """Signals in the bounded queue the writer takes its batches from."""
        return len(self._pending)

    def offer_nowait(self, signal: Signal) -> None:
        """Queue a signal at once, from discord.py's dispatch (which cannot wait).

        Signals offered while the queue is full wait in order in an overflow and join the queue
        as batches are stored. Queuing here rather than in a listener task matters under a
        burst: discord.py parses thousands of events before its loop runs any task, so a
        listener's signal would reach the writer only after the burst.
        """
        self._bot_loop = asyncio.get_running_loop()
        if not self._overflow and self._take(signal):
            return
        self._overflow.append(signal)
        if len(self._overflow) >= self._capacity and self._worker is not None:
            self._hold_reading()
        if self._overflow and (self._drainer is None or self._drainer.done()):
            self._drainer = self._bot_loop.create_task(
                self._drain_overflow(), name="pln-ingest-overflow"
            )

    async def offer(self, signal: Signal) -> None:
        """Queue a signal; waits while the queue is full (the database is behind)."""
        self.offer_nowait(signal)
        while self._overflow and signal in self._overflow:
            await self._room_or_timeout()

    async def _room_or_timeout(self) -> None:
        """Wait until room may have come back; a wake-up missed between two waiters costs at
        most ROOM_POLL, never a hang."""
        self._room_changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._room_changed.wait(), ROOM_POLL)

    def _take(self, signal: Signal) -> bool:
        """Queue the signal if there is room; False when the queue is full."""
        with self._guard:
            if self._free <= 0:
                return False
            self._free -= 1
            self._pending.append(signal)
            self._offered += 1
            # Wake the writer once per batch's worth, not for every signal past the first batch:
            # each wake-up is a write to the writer loop's self-pipe.
            full = len(self._pending) % self._batch_size == 0
        if full:
            self._wake_writer()
        return True

    def _hold_reading(self) -> None:
        """Back-pressure: with the queue and the overflow both full, hold discord.py's reading
        (this runs inside its dispatch) until the writer's thread stores a batch.

        Discord then waits on the connection; a hold is capped well inside the heartbeat
        interval, after which the overflow grows rather than the connection dropping. It never
        holds while a write on the bot's own loop has SQLite's lock.
        """
        self._wake_writer()
        if self._database.writing:
            # A write on the bot's loop holds SQLite's lock: holding the loop would keep it
            # from committing and the writer's thread from ever storing (a deadlock broken
            # only by each hold's time limit). The overflow grows for that short write instead.
            return
        with self._room:
            self._room.wait_for(lambda: self._free > 0, timeout=HOLD_LIMIT)
        while self._overflow and self._take(self._overflow[0]):
            self._overflow.popleft()

    async def _drain_overflow(self) -> None:
        while self._overflow:
            while self._overflow and self._take(self._overflow[0]):
                self._overflow.popleft()
            self._room_changed.set()  # wake offers whose signal just joined the queue
            if self._overflow:
                await self._room_or_timeout()

    def start(self) -> None:
        """Flush every second from now on (on the writer's own loop)."""
        self._bot_loop = asyncio.get_running_loop()
        if self._own_loop:
            self._worker_loop().submit(self._start_flusher())
        else:
            self._flusher = asyncio.create_task(self._flush_forever(), name="pln-passive-ingest")

    async def stop(self) -> None:
        """Write everything still queued, then stop (a clean stop loses nothing)."""
        self._bot_loop = asyncio.get_running_loop()
        while self._overflow:  # the drainer moves them in as batches are stored
            await self._on_writer(self._flush_one)
            await asyncio.sleep(0.01)
        try:
            await self._on_writer(self._stop_flushing)
        finally:
            if self._worker is not None:
                worker, self._worker = self._worker, None
                await worker.close()

    async def catch_up(self) -> None:
        """Store what is queued now, so an answer about progress includes the latest signals.

        Waits at most a few seconds (the answer is then a second behind, not late).
        """
        target = self._offered

        async def until_stored() -> None:
            with contextlib.suppress(DatabaseUnavailable):
                while self._stored < target and self._pending:
                    await self._flush_one()

        # A timeout scope, not wait_for: no task of its own on every /progress.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CATCH_UP_WAIT):
                await self._on_writer(until_stored)

    async def flush(self) -> int:
        """Store up to one batch of queued signals in one transaction; returns how many.

        If the transaction fails, the batch stays at the front of the queue.
        """
        return await self._on_writer(self._flush_one)

    # -- on the writer's loop ---------------------------------------------------------------

    async def _on_writer(self, work: Callable[[], Awaitable[_T]]) -> _T:
        """Run ``work`` on the writer's loop and wait for it from the bot's loop."""
        self._bot_loop = asyncio.get_running_loop()
        if not self._own_loop:
            return await work()

        async def run() -> _T:
            return await work()

        return await asyncio.wrap_future(self._worker_loop().submit(run()))

    def _worker_loop(self) -> _WriterLoop:
        if self._worker is None:
            self._worker = _WriterLoop(self._database.url)
        return self._worker

    def _target(self) -> Database:
        return self._worker.engine() if self._worker is not None else self._database

    async def _start_flusher(self) -> None:
        self._flusher = asyncio.create_task(self._flush_forever(), name="pln-passive-ingest")

    async def _stop_flushing(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
            self._flusher = None
        while self._pending:
            await self._flush_one()

    def _wake_writer(self) -> None:
        kick = self._kick
        if kick is None:
            return
        if self._worker is not None:
            self._worker.loop.call_soon_threadsafe(kick.set)
        else:
            kick.set()

    async def _flush_forever(self) -> None:
        self._kick = asyncio.Event()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self._flush_interval)
            self._kick.clear()
            try:
                while self._pending:
                    await self._flush_one()
            except DatabaseUnavailable:
                log.warning("Passive signals: the database did not answer; keeping them queued")
            except Exception:
                log.exception("Passive signals: a batch failed and was dropped")

    async def _flush_one(self) -> int:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            with self._guard:
                batch = list(itertools.islice(self._pending, self._max_batch))
            if not batch:
                return 0
            try:
                async with self._target().write() as session:
                    speakers = await self._writer.write(session, batch, self._clock())
            except DatabaseUnavailable:
                raise  # kept: the next flush tries again
            except Exception:
                self._drop(len(batch))  # a batch that can never be stored must not block the rest
                raise
            self._writer.remember(speakers)  # committed: later batches may rely on it
            self._drop(len(batch))
            await self._fold_log()
            return len(batch)

    async def _fold_log(self) -> None:
        """On SQLite, checkpoint the write-ahead log between two batches.

        SQLite starts the log over only when a write begins with the log entirely copied into
        the database; a checkpoint from elsewhere (``WalCheckpointer``) lands while a batch is
        being written, so under a steady stream of batches the log never starts over and grows
        by every batch (to over 200 MB for 100,000 signals, each read then searching it all).
        Run here, after a commit and before the next batch begins, it lets the log start over.
        PASSIVE: it never waits for anyone.
        """
        target = self._target()
        if not target.is_sqlite:
            return
        try:
            async with target.engine.connect() as connection:
                await connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception as error:  # the next batch's checkpoint, or the checkpointer's, will do
            log.debug("Passive signals: checkpoint skipped: %s", error)

    def _drop(self, count: int) -> None:
        with self._room:
            for _ in range(count):
                self._pending.popleft()
            self._stored += count
            self._free += count
            self._room.notify_all()
        loop = self._bot_loop
        if loop is None or loop.is_closed():
            return
        if self._worker is None:
            self._give_room(count)
        else:
            loop.call_soon_threadsafe(self._give_room, count)

    def _give_room(self, count: int) -> None:
        self._room_changed.set()
