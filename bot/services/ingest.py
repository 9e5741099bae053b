"""Passive signals, buffered and stored in batches: a busy server costs one transaction a second.

Signals are queued as they arrive and written together at least every second (or sooner when a
batch fills up), and whatever is queued is written on a clean stop, so a stop loses nothing and a
crash at most the last second. The queue is bounded: when the database falls behind, offering a
signal waits for room instead of letting memory grow without limit.

Each batch, in one transaction: the members it names get their rows, its events go into the
ledger (the same Discord signal twice is one event, by its dedupe key), withdrawn credit is
deleted, and every pair it touched has its tie and conversation weeks recomputed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import ActivityEvent, Database, OutboxPost, Resource, utcnow
from bot.db.upsert import dialect_insert
from bot.errors import DatabaseUnavailable
from bot.habits import EventKind, Habit
from bot.services.members import Actor, touch_actor
from bot.services.network import refresh_pairs
from bot.services.sharing import RESOURCE_CARD
from bot.services.signals import (
    MessagesDeleted,
    MessageSeen,
    ReactionAdded,
    ReactionRemoved,
    Signal,
    ThreadCreated,
)

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 1.0
BATCH_SIZE = 1000
CAPACITY = 20_000
_SPEAKER_KINDS = [EventKind.THREAD_MESSAGE.value, EventKind.THREAD_CREATED.value]


@dataclass
class _Batch:
    """What one batch changes, gathered while its signals are applied in order."""

    pairs: dict[int, set[tuple[int, int]]] = field(default_factory=dict)
    # Who spoke last in each thread, as of the signals applied so far.
    last_speaker: dict[int, int] = field(default_factory=dict)

    def touched(self, server_id: int, one: int, other: int) -> None:
        self.pairs.setdefault(server_id, set()).add((one, other))


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
                    await self._apply(session, batch)
            except DatabaseUnavailable:
                raise  # kept: the next flush tries again
            except Exception:
                self._drop(len(batch))  # a batch that can never be stored must not block the rest
                raise
            self._drop(len(batch))
            return len(batch)

    def _drop(self, count: int) -> None:
        for _ in range(count):
            self._pending.popleft()
            self._room.release()

    async def _apply(self, session: AsyncSession, signals: list[Signal]) -> None:
        batch = _Batch()
        now = self._clock()
        touched_members: set[tuple[int, int]] = set()
        for signal in signals:
            if isinstance(signal, MessageSeen | ReactionAdded | ThreadCreated):
                who = (
                    signal.author
                    if isinstance(signal, MessageSeen)
                    else signal.reactor
                    if isinstance(signal, ReactionAdded)
                    else signal.owner
                )
                if (signal.server_id, who.user_id) not in touched_members:
                    touched_members.add((signal.server_id, who.user_id))
                    await touch_actor(
                        session,
                        Actor(signal.server_id, signal.server_name, who.user_id, who.display_name),
                        now,
                    )
            if isinstance(signal, MessageSeen):
                await self._message(session, batch, signal)
            elif isinstance(signal, ReactionAdded):
                await self._reaction_added(session, batch, signal)
            elif isinstance(signal, ReactionRemoved):
                await self._withdraw(
                    session,
                    batch,
                    signal.server_id,
                    ActivityEvent.dedupe_key == _reaction_key(signal),
                )
            elif isinstance(signal, MessagesDeleted):
                await self._withdraw(
                    session,
                    batch,
                    signal.server_id,
                    ActivityEvent.message_id.in_(signal.message_ids),
                )
            else:
                await _record(
                    session,
                    server_id=signal.server_id,
                    member_id=signal.owner.user_id,
                    kind=EventKind.THREAD_CREATED,
                    habit=None,
                    at=signal.at,
                    channel_id=signal.thread_id,
                    dedupe_key=f"thread:{signal.thread_id}",
                )
                batch.last_speaker[signal.thread_id] = signal.owner.user_id
        for server_id, pairs in batch.pairs.items():
            await refresh_pairs(session, server_id, pairs)

    async def _message(self, session: AsyncSession, batch: _Batch, signal: MessageSeen) -> None:
        author = signal.author.user_id
        target = signal.reply_to
        if signal.in_thread:
            previous = await self._last_speaker(session, batch, signal)
            if previous is None:
                previous = signal.thread_owner_id
            batch.last_speaker[signal.channel_id] = author
            if target is None:
                target = previous
        if target == author:
            target = None  # talking to oneself reaches nobody
        if not signal.in_thread and target is None:
            return  # an ordinary message: nothing is recorded
        recorded = await _record(
            session,
            server_id=signal.server_id,
            member_id=author,
            kind=EventKind.THREAD_MESSAGE if signal.in_thread else EventKind.REPLY,
            habit=Habit.CONNECT if target is not None else None,
            at=signal.at,
            other_member_id=target,
            channel_id=signal.channel_id,
            message_id=signal.message_id,
            dedupe_key=f"message:{signal.message_id}",
        )
        if recorded and target is not None:
            batch.touched(signal.server_id, author, target)

    @staticmethod
    async def _last_speaker(
        session: AsyncSession, batch: _Batch, signal: MessageSeen
    ) -> int | None:
        if signal.channel_id in batch.last_speaker:
            return batch.last_speaker[signal.channel_id]
        return await session.scalar(
            select(ActivityEvent.member_id)
            .where(
                ActivityEvent.server_id == signal.server_id,
                ActivityEvent.channel_id == signal.channel_id,
                ActivityEvent.kind.in_(_SPEAKER_KINDS),
                ActivityEvent.occurred_at <= signal.at,
                ActivityEvent.message_id.is_distinct_from(signal.message_id),
            )
            .order_by(ActivityEvent.occurred_at.desc(), ActivityEvent.id.desc())
            .limit(1)
        )

    @staticmethod
    async def _reaction_added(session: AsyncSession, batch: _Batch, signal: ReactionAdded) -> None:
        reactor = signal.reactor.user_id
        author: int | None = signal.message_author_id
        resource_id = None
        if signal.on_bot_post:  # a resource card: its sharer is who the reaction reaches
            card = (
                await session.execute(
                    select(Resource.id, Resource.shared_by)
                    .join(
                        OutboxPost,
                        (OutboxPost.server_id == Resource.server_id)
                        & (OutboxPost.kind == RESOURCE_CARD)
                        & (OutboxPost.subject_id == Resource.id),
                    )
                    .where(
                        OutboxPost.server_id == signal.server_id,
                        OutboxPost.message_id == signal.message_id,
                    )
                )
            ).one_or_none()
            resource_id, author = card if card is not None else (None, None)
        if author is None or author == reactor:
            return  # reacting to one's own message (or a bot's post) reaches nobody
        recorded = await _record(
            session,
            server_id=signal.server_id,
            member_id=reactor,
            kind=EventKind.REACTION,
            habit=Habit.CONNECT,
            at=signal.at,
            other_member_id=author,
            channel_id=signal.channel_id,
            message_id=signal.message_id,
            resource_id=resource_id,
            dedupe_key=_reaction_key(signal),
        )
        if recorded:
            batch.touched(signal.server_id, reactor, author)

    @staticmethod
    async def _withdraw(
        session: AsyncSession, batch: _Batch, server_id: int, which: object
    ) -> None:
        """Delete events whose credit is withdrawn, and note the pairs they had touched."""
        removed = (
            await session.execute(
                delete(ActivityEvent)
                .where(ActivityEvent.server_id == server_id, which)  # type: ignore[arg-type]
                .returning(ActivityEvent.member_id, ActivityEvent.other_member_id)
            )
        ).all()
        for member_id, other_member_id in removed:
            if other_member_id is not None:
                batch.touched(server_id, member_id, other_member_id)


def _reaction_key(signal: ReactionAdded | ReactionRemoved) -> str:
    user = signal.reactor.user_id if isinstance(signal, ReactionAdded) else signal.user_id
    return f"reaction:{signal.message_id}:{user}:{signal.emoji}"[:100]


async def _record(
    session: AsyncSession,
    *,
    server_id: int,
    member_id: int,
    kind: EventKind,
    habit: Habit | None,
    at: datetime,
    dedupe_key: str,
    other_member_id: int | None = None,
    channel_id: int | None = None,
    message_id: int | None = None,
    resource_id: int | None = None,
) -> bool:
    """Append one passive event; False when the same signal was stored before."""
    result = await session.execute(
        dialect_insert(session, ActivityEvent)
        .values(
            server_id=server_id,
            member_id=member_id,
            kind=kind.value,
            habit=habit.value if habit else None,
            occurred_at=at,
            other_member_id=other_member_id,
            channel_id=channel_id,
            message_id=message_id,
            resource_id=resource_id,
            dedupe_key=dedupe_key,
        )
        .on_conflict_do_nothing(index_elements=[ActivityEvent.server_id, ActivityEvent.dedupe_key])
        .returning(ActivityEvent.id)
    )
    return result.scalar_one_or_none() is not None
