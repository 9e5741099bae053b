"""Passive signals, buffered and stored in batches: a busy server costs one transaction a second.

Signals are queued as they arrive and written together at least every second (or sooner when a
batch fills up), and whatever is queued is written on a clean stop, so a stop loses nothing and a
crash at most the last second. The queue is bounded: when the database falls behind, offering a
signal waits for room instead of letting memory grow without limit.

Each batch is written in one transaction by ``SignalBatchWriter``, with a handful of set-based
statements whatever its size.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime

from bot.db import Database, utcnow
from bot.errors import DatabaseUnavailable
from bot.services.signal_batch import SignalBatchWriter
from bot.services.signals import Signal

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 1.0
BATCH_SIZE = 1000
CAPACITY = 20_000


class PassiveIngest:
    def __init__(
        self,
        database: Database,
        *,
        flush_interval: float = FLUSH_INTERVAL,
        batch_size: int = BATCH_SIZE,
        capacity: int = CAPACITY,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._database = database
        self._flush_interval = flush_interval
        self._batch_size = batch_size
        # Signals waiting to be stored, and the room left for more: a slot is given back only
        # once its signal is stored, so a batch that failed keeps its place and its room.
        self._pending: deque[Signal] = deque()
        self._room = asyncio.Semaphore(capacity)
        self._clock = clock
        self._flusher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._kick = asyncio.Event()
        self._writer = SignalBatchWriter()

    @property
    def backlog(self) -> int:
        return len(self._pending)

    async def offer(self, signal: Signal) -> None:
        """Queue a signal; waits while the queue is full (the database is behind)."""
        await self._room.acquire()
        self._pending.append(signal)
        if len(self._pending) >= self._batch_size:
            self._kick.set()

    def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_forever(), name="pln-passive-ingest")

    async def stop(self) -> None:
        """Write everything still queued, then stop (a clean stop loses nothing)."""
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
            self._flusher = None
        while self._pending:
            await self.flush()

    async def _flush_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self._flush_interval)
            self._kick.clear()
            try:
                while self._pending:
                    await self.flush()
            except DatabaseUnavailable:
                log.warning("Passive signals: the database did not answer; keeping them queued")
            except Exception:
                log.exception("Passive signals: a batch failed and was dropped")

    async def catch_up(self) -> None:
        """Store what is queued now, so an answer about progress includes the latest signals."""
        with contextlib.suppress(DatabaseUnavailable):  # then the answer is a second behind
            while self._pending:
                await self.flush()

    async def flush(self) -> int:
        """Store up to one batch of queued signals in one transaction; returns how many.

        If the transaction fails, the batch stays at the front of the queue.
        """
        async with self._lock:
            batch = [self._pending[n] for n in range(min(self._batch_size, len(self._pending)))]
            if not batch:
                return 0
            try:
                async with self._database.write() as session:
                    speakers = await self._writer.write(session, batch, self._clock())
            except DatabaseUnavailable:
                raise  # kept: the next flush tries again
            except Exception:
                self._drop(len(batch))  # a batch that can never be stored must not block the rest
                raise
            self._writer.remember(speakers)  # committed: later batches may rely on it
            self._drop(len(batch))
            return len(batch)

    def _drop(self, count: int) -> None:
        for _ in range(count):
            self._pending.popleft()
            self._room.release()
