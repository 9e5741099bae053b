"""One batch of passive signals as a handful of set-based statements, not a few per signal.

The signals are first applied in order in memory (a reaction added then removed in the same
batch never reaches the database; a reply answers whoever spoke last in its thread, as of the
signals before it), then written: one upsert of the members named, one bulk delete of withdrawn
credit, one bulk insert of new events (the same Discord signal twice is one event, by its dedupe
key), and one rewrite of the ties and conversation weeks of every pair touched. Their
interactions are read before the new events are stored, so only what was there already is read
back (nothing, for a pair that is new), and the batch's own are added from memory.

Members who paused tracking (``/privacy pause``) are left out in memory: a signal by a paused
member, or whose other side is one (a reply to them, a reaction to their message or card, an
answer in their question's thread), is dropped whole, so nothing about them is stored and no tie
or conversation with them appears. A thread's last speaker is still remembered in memory (not
stored), so a reply after a paused member's message answers them, and is dropped too, rather
than crediting whoever spoke before.
"""

from __future__ import annotations

import json
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, cast

from sqlalchemy import Table, delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import ActivityEvent, Member, OutboxPost, Resource
from bot.habits import EventKind, Habit
from bot.services.asks import asks_of_threads, record_answers, withdraw_answers
from bot.services.conversations import pair_of
from bot.services.members import touch_server
from bot.services.network import BulkInsert, interaction, read_interactions, store_pairs, utc
from bot.services.pausing import PausedMembers
from bot.services.sharing_rows import RESOURCE_CARD
from bot.services.signals import (
    Author,
    MessagesDeleted,
    MessageSeen,
    ReactionAdded,
    ReactionRemoved,
    Signal,
    ThreadCreated,
)

_EVENTS = cast(Table, ActivityEvent.__table__)
_MEMBERS = cast(Table, Member.__table__)
# Threads whose last speaker is remembered between batches.
REMEMBERED_THREADS = 50_000
_SPEAKER_KINDS = [EventKind.THREAD_MESSAGE.value, EventKind.THREAD_CREATED.value]
_THREAD_CREATED = EventKind.THREAD_CREATED.value
_THREAD_MESSAGE = EventKind.THREAD_MESSAGE.value
_REPLY = EventKind.REPLY.value
_REACTION = EventKind.REACTION.value
_CONNECT = Habit.CONNECT.value

# A ledger row as the batch keeps it: a tuple in these columns' order (its time in UTC).
_EVENT_COLUMNS = (
    "server_id",
    "member_id",
    "kind",
    "habit",
    "occurred_at",
    "other_member_id",
    "resource_id",
    "channel_id",
    "message_id",
    "dedupe_key",
)
_MEMBER_ID: Final = 1
_KIND: Final = 2
_OCCURRED_AT: Final = 4
_OTHER_MEMBER_ID: Final = 5
_CHANNEL_ID: Final = 7
_MESSAGE_ID: Final = 8
_DEDUPE_KEY: Final = 9
_Id = int | None
EventRow = tuple[int, int, str, str | None, datetime, _Id, _Id, _Id, _Id, str]


# The same Discord signal twice is one event (by its dedupe key): the insert skips repeats.
_INSERT_EVENTS = BulkInsert(
    _EVENTS,
    _EVENT_COLUMNS,
    lambda insert: insert.on_conflict_do_nothing(
        index_elements=[_EVENTS.c.server_id, _EVENTS.c.dedupe_key]
    ),
)
_UPSERT_MEMBERS = BulkInsert(
    _MEMBERS,
    ("server_id", "user_id", "display_name", "first_seen_at", "last_seen_at"),
    lambda insert: insert.on_conflict_do_update(
        index_elements=[_MEMBERS.c.server_id, _MEMBERS.c.user_id],
        set_={
            "display_name": insert.excluded.display_name,
            "last_seen_at": insert.excluded.last_seen_at,
        },
    ),
)


@dataclass
class _ServerBatch:
    """What one batch does in one server, worked out in memory before anything is written."""

    name: str
    members: dict[int, str] = field(default_factory=dict)
    events: dict[str, EventRow] = field(default_factory=dict)  # by dedupe key
    withdrawn_keys: set[str] = field(default_factory=set)
    deleted_messages: set[int] = field(default_factory=set)
    pairs: set[tuple[int, int]] = field(default_factory=set)
    # Messages in asks' threads by others than the asker: (ask, asker, message, answerer, time).
    answers: list[tuple[int, int, int, int, datetime]] = field(default_factory=list)


def reaction_key(signal: ReactionAdded | ReactionRemoved) -> str:
    user = signal.reactor.user_id if isinstance(signal, ReactionAdded) else signal.user_id
    return f"reaction:{signal.message_id}:{user}:{signal.emoji}"[:100]


class SignalBatchWriter:
    """Writes batches; remembers each thread's last speaker between them."""

    def __init__(self, paused: PausedMembers | None = None) -> None:
        self._last_speaker: OrderedDict[int, int] = OrderedDict()
        self._paused = paused if paused is not None else PausedMembers()

    async def write(
        self, session: AsyncSession, signals: list[Signal], now: datetime
    ) -> dict[int, int | None]:
        """Write a batch; returns each thread's last speaker after it, for ``remember``.

        The caller remembers them once the transaction has committed: a batch that is rolled
        back and written again must see the threads as they were before it.
        """
        speakers = await self._speakers_before(session, signals)
        cards = await _cards_reacted_to(session, signals)
        asks = await asks_of_threads(
            session,
            sorted(
                {
                    (signal.server_id, signal.channel_id)
                    for signal in signals
                    if isinstance(signal, MessageSeen) and signal.in_thread
                }
            ),
        )
        batches: dict[int, _ServerBatch] = {}
        for signal in signals:
            batch = batches.get(signal.server_id)
            if batch is None:
                batch = batches[signal.server_id] = _ServerBatch("")
            if not batch.name:
                batch.name = getattr(signal, "server_name", "")
            self._apply(signal.server_id, batch, signal, speakers, cards, asks)
        for server_id, batch in batches.items():
            await self._write_server(session, server_id, batch, now)
        return speakers

    def remember(self, speakers: dict[int, int | None]) -> None:
        """Keep each thread's last speaker for the next batches (after a commit)."""
        for thread, speaker in speakers.items():
            if speaker is not None:
                self._remember(thread, speaker)

    # -- in memory, in order -------------------------------------------------------------------

    def _apply(
        self,
        server_id: int,
        batch: _ServerBatch,
        signal: Signal,
        speakers: dict[int, int | None],
        cards: dict[tuple[int, int], tuple[int, int]],
        asks: dict[tuple[int, int], tuple[int, int]],
    ) -> None:
        paused = self._paused
        if isinstance(signal, MessageSeen):
            ask = asks.get((server_id, signal.channel_id)) if signal.in_thread else None
            self._message(server_id, batch, signal, speakers, ask, paused)
        elif isinstance(signal, ReactionAdded):
            author: int | None = signal.message_author_id
            resource_id = None
            if signal.on_bot_post:  # a resource card reaches the member who shared it
                resource_id, author = cards.get((server_id, signal.message_id), (None, None))
            if (server_id, signal.reactor.user_id) in paused or (server_id, author) in paused:
                return
            self._reaction(server_id, batch, signal, author, resource_id)
        elif isinstance(signal, ReactionRemoved):
            key = reaction_key(signal)
            batch.events.pop(key, None)
            batch.withdrawn_keys.add(key)
        elif isinstance(signal, MessagesDeleted):
            gone = set(signal.message_ids)
            for key in [k for k, e in batch.events.items() if e[_MESSAGE_ID] in gone]:
                event = batch.events.pop(key)
                if event[_OTHER_MEMBER_ID] is not None:
                    batch.pairs.add((event[_MEMBER_ID], event[_OTHER_MEMBER_ID]))
            batch.deleted_messages |= gone
        elif isinstance(signal, ThreadCreated):
            if (server_id, signal.owner.user_id) in paused:
                return
            _name(batch, signal.owner)
            key = f"thread:{signal.thread_id}"
            batch.events[key] = (
                server_id,
                signal.owner.user_id,
                _THREAD_CREATED,
                None,
                utc(signal.at),
                None,
                None,
                signal.thread_id,
                None,
                key,
            )
            if signal.thread_id not in speakers and signal.thread_id not in self._last_speaker:
                speakers[signal.thread_id] = signal.owner.user_id  # nobody has spoken yet

    @staticmethod
    def _message(
        server_id: int,
        batch: _ServerBatch,
        signal: MessageSeen,
        speakers: dict[int, int | None],
        ask: tuple[int, int] | None,
        paused: PausedMembers,
    ) -> None:
        author = signal.author.user_id
        target = signal.reply_to
        if signal.in_thread:
            opener = ask[1] if ask is not None else signal.thread_owner_id
            previous = speakers.get(signal.channel_id) or opener
            speakers[signal.channel_id] = author
            if target is None:
                target = previous
        if target == author:
            target = None  # talking to oneself reaches nobody
        if not signal.in_thread and target is None:
            return  # an ordinary message: nothing is recorded
        if (server_id, author) in paused or (server_id, target) in paused:
            return  # by or to a member who paused tracking: nothing is recorded
        if ask is not None and author != ask[1] and (server_id, ask[1]) not in paused:
            # An answer to an ask: it answers the asker (the thread is the bot's).
            batch.answers.append((ask[0], ask[1], signal.message_id, author, signal.at))
        _name(batch, signal.author)
        key = f"message:{signal.message_id}"
        batch.events[key] = (
            server_id,
            author,
            _THREAD_MESSAGE if signal.in_thread else _REPLY,
            _CONNECT if target is not None else None,
            utc(signal.at),
            target,
            None,
            signal.channel_id,
            signal.message_id,
            key,
        )

    @staticmethod
    def _reaction(
        server_id: int,
        batch: _ServerBatch,
        signal: ReactionAdded,
        author: int | None,
        resource_id: int | None,
    ) -> None:
        if author is None or author == signal.reactor.user_id:
            return  # reacting to one's own message (or a bot's post) reaches nobody
        _name(batch, signal.reactor)
        key = reaction_key(signal)
        batch.withdrawn_keys.discard(key)
        batch.events[key] = (
            server_id,
            signal.reactor.user_id,
            _REACTION,
            _CONNECT,
            utc(signal.at),
            author,
            resource_id,
            signal.channel_id,
            signal.message_id,
            key,
        )

    # -- what the database must tell first -----------------------------------------------------

    async def _speakers_before(
        self, session: AsyncSession, signals: list[Signal]
    ) -> dict[int, int | None]:
        """Who spoke last in each thread the batch posts in, before the batch."""
        threads = {
            (signal.server_id, signal.channel_id)
            for signal in signals
            if isinstance(signal, MessageSeen) and signal.in_thread
        }
        speakers: dict[int, int | None] = {}
        unknown: defaultdict[int, list[int]] = defaultdict(list)
        for server_id, thread in threads:
            if thread in self._last_speaker:
                speakers[thread] = self._last_speaker[thread]
            else:
                unknown[server_id].append(thread)
        for server_id, ids in unknown.items():
            latest = (
                select(
                    ActivityEvent.channel_id,
                    ActivityEvent.member_id,
                    func.row_number()
                    .over(
                        partition_by=ActivityEvent.channel_id,
                        order_by=(ActivityEvent.occurred_at.desc(), ActivityEvent.id.desc()),
                    )
                    .label("rank"),
                )
                .where(
                    ActivityEvent.server_id == server_id,
                    ActivityEvent.channel_id.in_(ids),
                    ActivityEvent.kind.in_(_SPEAKER_KINDS),
                )
                .subquery()
            )
            rows = await session.execute(
                select(latest.c.channel_id, latest.c.member_id).where(latest.c.rank == 1)
            )
            speakers.update({row.channel_id: row.member_id for row in rows})
        return speakers

    def _remember(self, thread: int, speaker: int) -> None:
        self._last_speaker[thread] = speaker
        self._last_speaker.move_to_end(thread)
        while len(self._last_speaker) > REMEMBERED_THREADS:
            self._last_speaker.popitem(last=False)

    # -- writing -------------------------------------------------------------------------------

    async def _write_server(
        self, session: AsyncSession, server_id: int, batch: _ServerBatch, now: datetime
    ) -> None:
        await touch_server(session, server_id, batch.name)
        now = utc(now)
        await _UPSERT_MEMBERS.run(
            session,
            [(server_id, user_id, name[:100], now, now) for user_id, name in batch.members.items()],
        )
        await self._withdraw(session, server_id, batch)
        rows = list(batch.events.values())
        # Every pair an event names, new or a repeat (recomputing a pair whose event was already
        # stored gives the same rows, and repeats are rare).
        batch.pairs.update(
            (row[_MEMBER_ID], row[_OTHER_MEMBER_ID])
            for row in rows
            if row[_OTHER_MEMBER_ID] is not None
        )
        # The pairs' interactions are read before the new events are stored, so that only what
        # was there before is read back (nothing, for a new pair); the new ones are added from
        # memory. A repeat of a stored event (by its dedupe key) is neither stored nor added.
        stored = await _stored_keys(session, server_id, [row[_DEDUPE_KEY] for row in rows])
        new = [row for row in rows if row[_DEDUPE_KEY] not in stored] if stored else rows
        wanted = sorted({pair_of(*pair) for pair in batch.pairs})
        interactions = await read_interactions(session, server_id, wanted)
        await _INSERT_EVENTS.run(session, new)
        for row in new:
            member, other = row[_MEMBER_ID], row[_OTHER_MEMBER_ID]
            if other is not None:
                interactions[(member, other) if member < other else (other, member)].append(
                    interaction(row[_OCCURRED_AT], member, other, row[_CHANNEL_ID], row[_KIND])
                )
        await store_pairs(session, server_id, wanted, interactions)
        if batch.answers:
            await record_answers(session, server_id, batch.answers)

    @staticmethod
    async def _withdraw(session: AsyncSession, server_id: int, batch: _ServerBatch) -> None:
        """Delete removed reactions and what deleted messages earned; note the pairs touched."""
        conditions = []
        if batch.withdrawn_keys:
            conditions.append(ActivityEvent.dedupe_key.in_(sorted(batch.withdrawn_keys)))
        if batch.deleted_messages:
            conditions.append(ActivityEvent.message_id.in_(sorted(batch.deleted_messages)))
        if batch.deleted_messages:
            await withdraw_answers(session, server_id, sorted(batch.deleted_messages))
        for condition in conditions:
            removed = await session.execute(
                delete(ActivityEvent)
                .where(ActivityEvent.server_id == server_id, condition)
                .returning(ActivityEvent.member_id, ActivityEvent.other_member_id)
            )
            batch.pairs.update(
                (row.member_id, row.other_member_id)
                for row in removed
                if row.other_member_id is not None
            )


# Which of the batch's dedupe keys the ledger already has (a replayed gateway event).
_STORED_KEYS = {
    "sqlite": """
        SELECT json_group_array(dedupe_key) FROM activity_events
        WHERE server_id = ? AND dedupe_key IN (SELECT value FROM json_each(?))
    """,
    "postgresql": """
        SELECT dedupe_key FROM activity_events
        WHERE server_id = $1 AND dedupe_key = ANY($2::varchar[])
    """,
}


async def _stored_keys(session: AsyncSession, server_id: int, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        result = await connection.exec_driver_sql(
            _STORED_KEYS["sqlite"], (server_id, json.dumps(keys))
        )
        return set(json.loads(result.scalar_one()))
    result = await connection.exec_driver_sql(_STORED_KEYS["postgresql"], (server_id, keys))
    return {row[0] for row in result}


async def _cards_reacted_to(
    session: AsyncSession, signals: list[Signal]
) -> dict[tuple[int, int], tuple[int, int]]:
    """(server, card message) -> (resource, sharer), for the bot's posts reacted to."""
    wanted = {
        (signal.server_id, signal.message_id)
        for signal in signals
        if isinstance(signal, ReactionAdded) and signal.on_bot_post
    }
    if not wanted:
        return {}
    rows = await session.execute(
        select(OutboxPost.server_id, OutboxPost.message_id, Resource.id, Resource.shared_by)
        .join(
            Resource,
            (OutboxPost.server_id == Resource.server_id) & (OutboxPost.subject_id == Resource.id),
        )
        .where(
            OutboxPost.kind == RESOURCE_CARD,
            tuple_(OutboxPost.server_id, OutboxPost.message_id).in_(sorted(wanted)),
        )
    )
    return {(row[0], row[1]): (row[2], row[3]) for row in rows if row[1] is not None}


def _name(batch: _ServerBatch, author: Author) -> None:
    batch.members[author.user_id] = author.display_name
