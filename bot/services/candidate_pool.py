"""A server's recently active members as ``/connect suggest`` ranks them, shared for ten seconds.

Every suggestion in a server starts from the same list: its most recently active members, their
interests and how much each took part lately. Reading it is most of a suggestion's cost (about
1.5 ms of queries for a server of 120, and SQLite stepping through a month of each member's
events to count them), and it is the same list whoever asks. So it is read once and shared by
every suggestion in that server for ``FRESH_FOR``: under load (a challenge post sends a whole
server to /progress, which names a colleague) that is one read for hundreds of suggestions; a
quiet server reads it afresh each time, as before.

On PostgreSQL, while suggestions keep coming, the list is read again in the background once it
is ``REFRESH_AFTER`` old, and served meanwhile: the suggestion that found it stale waited for
the read's round trips, and so did every one arriving during them (``make bench``'s paced
/connect suggest and /progress had their slowest answers every ``FRESH_FOR``, on the dot).
SQLite reads block the event loop wherever they run (``inline_sqlite``), so there the list is
read when it goes stale. When the list does go stale (a quiet server), the suggestions that
arrive while it is being read wait for that read instead of each reading it too: on PostgreSQL
a read is several round trips with other commands running meanwhile, and every command in
flight at that moment (sixteen in ``make bench``) used to read the same list at once.

What may be up to ten seconds old: who counts as recently active, their interests, their counts,
their order. An intro, a change to what a member helps with or a member joining (or coming
back), made in this process, has the next suggestion read the list again (``members_changed``),
so a newcomer is suggested at once; other processes' changes show within ``FRESH_FOR``. Ten
seconds, not the two it was: on SQLite the read (2-3 ms for a server of 120) runs on the event
loop, and at 50 commands a second the suggestions that found the list stale every two seconds
were 1% of them and among the slowest, where ``make bench`` reads the paced p99 of /connect
suggest and /progress. A month's activity counted ten seconds ago ranks members as one counted
now does.

What is never stale: *who may be named*. The list keeps members who paused tracking (and is
not re-read when they resume); the few about to be named are checked against the database
first (``SuggestionService``), so a pause, a departure or forgetting takes effect at once, in
every process.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, BindParameter, bindparam, func, literal_column, select

from bot.db import ActivityEvent, Database, Member, MemberInterest
from bot.db.prepared import Prepared
from bot.db.statements import (
    LONG_LIST,
    PerDialect,
    Rows,
    is_one_of,
    is_one_of_kinds,
    plan_for_long_lists,
    table_of,
)
from bot.errors import DatabaseUnavailable
from bot.habits import EventKind
from bot.services.interest_match import Interests, TagBits, members_interests

log = logging.getLogger(__name__)

FRESH_FOR = 10.0  # seconds
# Under load the list is read again this long after the last read, in the background.
REFRESH_AFTER = 8.0  # seconds
# Members quiet for longer are not suggested: they may not answer.
ACTIVE_WITHIN = timedelta(days=90)
RECENT_CANDIDATES = 200
# Taking part is counted over this window (replaying real data: 30 days predicted who members go
# on to talk with better than 14 or 60), up to this many events each: more tells no more apart
# (log scale) and would make a hub's count cost more than anyone's.
ACTIVITY_WINDOW = timedelta(days=30)
ACTIVITY_CAP = 128
TAKING_PART = [
    kind.value
    for kind in (
        EventKind.REPLY,
        EventKind.THREAD_MESSAGE,
        EventKind.REACTION,
        EventKind.SHARE,
        EventKind.ASK,
        EventKind.ANSWER,
    )
]

_MEMBERS = table_of(Member)
_INTERESTS = table_of(MemberInterest)
_EVENTS = table_of(ActivityEvent)
_SERVER: BindParameter[int] = bindparam("server_id")
# Paused members are kept (see the module's docstring): checked before anyone is named.
_RECENTLY_ACTIVE = Prepared(
    select(_MEMBERS.c.user_id, _MEMBERS.c.display_name, _MEMBERS.c.last_seen_at)
    .where(
        _MEMBERS.c.server_id == _SERVER,
        _MEMBERS.c.left_at.is_(None),
        _MEMBERS.c.last_seen_at > bindparam("active_since"),
    )
    .order_by(_MEMBERS.c.last_seen_at.desc())
    .limit(RECENT_CANDIDATES)
)
_THEIR_INTERESTS = Prepared(
    PerDialect(
        lambda insert: select(_INTERESTS.c.user_id, _INTERESTS.c.kind, _INTERESTS.c.tag).where(
            _INTERESTS.c.server_id == _SERVER,
            is_one_of(_INTERESTS.c.user_id, "ids", insert, BigInteger()),
        )
    )
)
# A member's part lately: a capped range read of the (server, member, kind, time) index.
_LATEST_PART = (
    select(literal_column("1"))
    .where(
        _EVENTS.c.server_id == _SERVER,
        _EVENTS.c.member_id == _MEMBERS.c.user_id,
        is_one_of_kinds(_EVENTS.c.kind, TAKING_PART),
        _EVENTS.c.occurred_at > bindparam("since"),
    )
    .limit(ACTIVITY_CAP)
    .correlate(_MEMBERS)
    .subquery()
)
_TAKING_PART_LATELY = Prepared(
    PerDialect(
        lambda insert: select(
            _MEMBERS.c.user_id,
            select(func.count()).select_from(_LATEST_PART).correlate(_MEMBERS).scalar_subquery(),
        ).where(
            _MEMBERS.c.server_id == _SERVER,
            is_one_of(_MEMBERS.c.user_id, "ids", insert, BigInteger()),
        )
    )
)


class Candidate:
    """A member who could be suggested, and what ranking them needs to know."""

    __slots__ = ("display_name", "last_seen_at", "recent", "seen", "taking_part", "user_id")

    def __init__(self, user_id: int, display_name: str, last_seen_at: datetime) -> None:
        self.user_id = user_id
        self.display_name = display_name
        self.last_seen_at = last_seen_at
        # Seen last first is every ranking's tie-break: the timestamp once, not once per sort.
        self.seen = -last_seen_at.timestamp()
        # What they did here lately (replies, reactions, shares, asks, answers): people who
        # take part are the ones who answer back. Set once, by ``count_recent``.
        self.recent = 0
        # ``recent`` as rankings weigh it, on a log scale: worked out once, not once a ranking.
        self.taking_part = 0.0

    def counted(self, recent: int) -> None:
        self.recent = recent
        self.taking_part = math.log2(1 + recent)


@dataclass(frozen=True, slots=True)
class ActiveMembers:
    """A server's most recently active members (paused ones too), counted, with interests."""

    now: datetime  # the time the windows were read for
    read_at: float  # time.monotonic() when read
    members: dict[int, Candidate]
    # Their tags, numbered; and each member's interests on them (members with any).
    bits: TagBits
    interests: dict[int, Interests]

    @property
    def complete(self) -> bool:
        """Every active member is here (a busy server has more than ``RECENT_CANDIDATES``)."""
        return len(self.members) < RECENT_CANDIDATES

    def fresh_for(self, now: datetime, within: float = FRESH_FOR) -> bool:
        return (
            time.monotonic() - self.read_at < within
            and abs((now - self.now).total_seconds()) < within
        )

    @property
    def small(self) -> bool:
        """Read without planning for long lists (``plan_for_long_lists``): no transaction."""
        return self.complete and len(self.members) <= LONG_LIST


class CandidatePool:
    """``ActiveMembers`` per server, read again when older than ``FRESH_FOR``, and in the
    background once older than ``REFRESH_AFTER`` while suggestions keep coming."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._servers: dict[int, ActiveMembers] = {}
        # Changes made here to a server's members (``members_changed``), counted: a list read
        # while one was made is not kept.
        self._changes: dict[int, int] = {}
        # Reads under way, by server: what a suggestion that finds no fresh list waits for.
        self._reading: dict[int, asyncio.Future[None]] = {}
        # Reads in the background, by server (one at a time each).
        self._refreshes: dict[int, asyncio.Task[None]] = {}
        # SQLite reads run on the event loop (``inline_sqlite``): one in the background holds
        # up the commands arriving meanwhile just as one in the foreground does (measured: the
        # slow answers came every REFRESH_AFTER instead of every FRESH_FOR, and slower), so
        # there the list is read when it goes stale.
        self._refresh_early = not database.is_sqlite

    def members_changed(self, server_id: int) -> None:
        """A member of the server introduced themselves, changed what they help with or joined
        it, in this process: the next suggestion there reads the list again."""
        self._changes[server_id] = self._changes.get(server_id, 0) + 1
        self._servers.pop(server_id, None)

    def fresh(self, server_id: int, now: datetime) -> ActiveMembers | None:
        """The server's members if read less than ``FRESH_FOR`` ago."""
        found = self._servers.get(server_id)
        return found if found is not None and found.fresh_for(now) else None

    async def settled(self, server_id: int, now: datetime) -> ActiveMembers | None:
        """``fresh``, or if there is none, once the read under way for the server (if any)
        has ended: call it before taking a connection, so a suggestion that waits holds none
        meanwhile. None: no fresh list (or the read failed), the caller reads it.

        On PostgreSQL a fresh list older than ``REFRESH_AFTER`` is read again in the background,
        and served meanwhile (see the module's docstring)."""
        found = self.fresh(server_id, now)
        reading = self._reading.get(server_id)
        if found is None and reading is not None:
            # Shielded: a waiter cancelled (its member's command timed out) must not cancel
            # the read for everyone else.
            await asyncio.shield(reading)
            return self.fresh(server_id, now)
        if (
            found is not None
            and self._refresh_early
            and reading is None
            and server_id not in self._refreshes
            and not found.fresh_for(now, REFRESH_AFTER)
        ):
            self._refresh_in_background(server_id, now, small=found.small)
        return found

    async def active_members(self, session: Rows, server_id: int, now: datetime) -> ActiveMembers:
        found = await self.settled(server_id, now)
        if found is not None:
            return found
        with self._read_under_way(server_id):
            return await self._read_and_keep(session, server_id, now)

    async def close(self) -> None:
        """Let the reads under way in the background end (before the database goes)."""
        await asyncio.gather(*self._refreshes.values(), return_exceptions=True)

    def _refresh_in_background(self, server_id: int, now: datetime, *, small: bool) -> None:
        task = asyncio.create_task(self._refresh(server_id, now, small=small))
        self._refreshes[server_id] = task
        task.add_done_callback(lambda _: self._refreshes.pop(server_id, None))

    async def _refresh(self, server_id: int, now: datetime, *, small: bool) -> None:
        with self._read_under_way(server_id):
            try:
                async with self._database.read_rows(in_transaction=not small) as session:
                    await self._read_and_keep(session, server_id, now)
            except DatabaseUnavailable as error:
                # The list is kept until it goes stale; the suggestion after that reads it
                # itself, and tells its member if the database is still away.
                log.info("Active members of server %s not read again: %s", server_id, error)
            except Exception:  # a task nobody awaits: say so here, or nobody hears of it
                log.exception("Active members of server %s not read again", server_id)

    @contextmanager
    def _read_under_way(self, server_id: int) -> Iterator[None]:
        """The server's read, for others to wait on while it runs; a failed read's waiters
        each read for themselves."""
        reading = asyncio.get_running_loop().create_future()
        self._reading[server_id] = reading
        try:
            yield
        finally:
            if self._reading.get(server_id) is reading:
                del self._reading[server_id]
            reading.set_result(None)

    async def _read_and_keep(self, session: Rows, server_id: int, now: datetime) -> ActiveMembers:
        """Read the server's list and share it, unless a change was made here meanwhile (which
        the read may have missed): then it serves only the suggestion that read it."""
        changes = self._changes.get(server_id, 0)
        found = await _read(session, server_id, now)
        # Drop what went stale elsewhere: the pool holds only servers in use right now.
        self._servers = {key: value for key, value in self._servers.items() if value.fresh_for(now)}
        if self._changes.get(server_id, 0) == changes:
            self._servers[server_id] = found
        return found


async def _read(session: Rows, server_id: int, now: datetime) -> ActiveMembers:
    rows = await _RECENTLY_ACTIVE.execute(
        session, {"server_id": server_id, "active_since": now - ACTIVE_WITHIN}
    )
    members = {row.user_id: Candidate(*row) for row in rows.all()}
    interests: Sequence[Any] = ()  # (member, kind, tag) rows
    if members:
        if len(members) > LONG_LIST:
            await plan_for_long_lists(session)
        read = await _THEIR_INTERESTS.execute(
            session, {"server_id": server_id, "ids": list(members)}
        )
        interests = read.all()
        await count_recent(session, server_id, members, now)
    bits, by_member = members_interests(interests)
    return ActiveMembers(now, time.monotonic(), members, bits, by_member)


async def count_recent(
    session: Rows, server_id: int, candidates: dict[int, Candidate], now: datetime
) -> None:
    """Each candidate's part in the last 30 days, up to ``ACTIVITY_CAP`` events, from the
    (server, member, kind, time) index: one capped range read per candidate."""
    if not candidates:
        return
    rows = await _TAKING_PART_LATELY.execute(
        session,
        {"server_id": server_id, "ids": list(candidates), "since": now - ACTIVITY_WINDOW},
    )
    for member_id, count in rows.all():
        candidates[member_id].counted(count or 0)
