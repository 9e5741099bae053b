"""PostgreSQL's pooled connections: checked when they sat idle, and taken without a greenlet
when nothing about taking them waits.

A unit of work on PostgreSQL takes a pooled connection and gives it back. Through SQLAlchemy's
async engine each of the two is a greenlet switch with its bookkeeping: an empty read cost
90 µs on this machine that way, 22 µs taken directly, on every unit (a /share runs three).
Taking one directly is safe only when nothing in the taking awaits: the connection is already
open, it needs no ping, and the unit runs outside a transaction (a COMMIT awaits, a checkout in
autocommit does not). ``take_inline`` tries that and says None whenever it can't, and the
caller then takes one the async way. Giving one back awaits only when the pool, already full,
closes it (``closes_at_checkin``): the caller then gives it back the async way.
"""

from __future__ import annotations

import math
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry, Pool, QueuePool

# A pooled connection unused for longer is checked before it is handed out.
IDLE_BEFORE_PING = 10.0


class _PingNeedsAwait(Exception):
    """A direct checkout met a connection due a ping (``PostgresPool`` foresaw it wrongly): the
    pool closes it, and the caller opens one the async way."""


class PostgresPool:
    """The pool's checks on a PostgreSQL engine, and its direct checkout.

    The pool hands out the connection checked in last (``pool_use_lifo``): the warmest, and
    under light load the same one again and again, so the others go quiet rather than each
    going a little stale. Which one comes next, and whether it may be taken directly, is
    followed through the pool's events (``_next_up``).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._inline = False
        # The idle connections' records, the next one handed out last, each with the time it
        # may be taken directly since (-inf: never, it may need reopening).
        self._next_up: dict[ConnectionPoolEntry, float] = {}
        # Counts PostgreSQL dropping a connection: the pool then reopens every connection
        # opened before, at its next checkout; each connection keeps the count it opened at.
        self._drops = 0
        sync_engine = engine.sync_engine
        event.listen(sync_engine, "connect", self._on_connect)
        event.listen(sync_engine, "checkin", self._on_checkin)
        event.listen(sync_engine, "checkout", self._on_checkout)
        event.listen(sync_engine, "close", self._on_close)
        event.listen(sync_engine, "invalidate", self._on_invalidate)

    def take_inline(self, engine: AsyncEngine) -> Connection | None:
        """A pooled connection of ``engine`` (an autocommit engine on this pool), taken without
        a greenlet; None when taking it could wait on PostgreSQL: none is idle, the next one is
        due a ping, or it may have to be reopened (PostgreSQL dropped a connection since). The
        caller then takes one the async way, which waits for those.
        """
        pool = engine.sync_engine.pool
        if not isinstance(pool, QueuePool) or not pool.checkedin() or not self._next_up:
            return None  # opening one awaits
        if time.monotonic() - next(reversed(self._next_up.values())) >= IDLE_BEFORE_PING:
            return None
        self._inline = True
        try:
            return engine.sync_engine.connect()
        except (_PingNeedsAwait, sa_exc.MissingGreenlet):
            # Foreseen wrongly: the connection is closed, its slot given back empty.
            return None
        finally:
            self._inline = False

    @staticmethod
    def closes_at_checkin(pool: Pool) -> bool:
        """Whether the pool closes the next connection checked in, having its fill idle:
        closing awaits, so a connection taken directly is then given back the async way."""
        return isinstance(pool, QueuePool) and pool.checkedin() >= pool.size()

    def _on_connect(self, _dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["drops_before"] = self._drops

    def _on_checkin(self, dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        now = time.monotonic()
        record.info["idle_since"] = now
        self._next_up.pop(record, None)
        reusable = dbapi_connection is not None and record.info.get("drops_before") == self._drops
        self._next_up[record] = now if reusable else -math.inf

    def _on_close(self, _dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        self._next_up.pop(record, None)  # e.g. one opened past the pool's size, closed at checkin

    def _on_invalidate(
        self, _dbapi_connection: Any, _record: ConnectionPoolEntry, _error: Any
    ) -> None:
        self._drops += 1
        for idle in self._next_up:
            self._next_up[idle] = -math.inf

    def _on_checkout(self, dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        """Check a connection that sat in the pool a while; hand out a busy one as it is.

        A connection PostgreSQL dropped (a restart, an idle timeout) is found before a
        member's command uses it. Checking every checkout (``pool_pre_ping``) cost three
        round trips per unit of work, more than most units' own statements; a connection in
        use every few seconds is known to be alive, and if the server went away meanwhile the
        first statement fails, the pool drops every connection of that age, and the member is
        told to try again.
        """
        self._next_up.pop(record, None)
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_BEFORE_PING:
            return
        if self._inline:
            raise _PingNeedsAwait
        try:
            dbapi_connection.ping()
        except Exception as error:  # the pool opens a new connection instead
            raise sa_exc.DisconnectionError(f"pooled connection was dropped: {error}") from error
