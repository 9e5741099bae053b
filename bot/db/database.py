"""The engine, its SQLite tuning, and units of work.

Services open ``database.read()`` to look and ``database.write()`` to change things (an ORM
session); code that runs only statements on tables, as the commands' hot paths do, opens
``read_rows()`` / ``write_rows()`` instead (a connection, same transactions). On SQLite a
write starts with ``BEGIN IMMEDIATE``: a deferred transaction that reads first and writes later
can fail with "database is locked" under WAL, while an immediate one waits its turn. Writers in
this process also queue on an asyncio lock first, so they never wait on each other inside
SQLite, and writes close together share one commit (``group_commit``); a lock held by another
process (or this process's ingest writer) is waited for by sleeping on the event loop
(``inline_sqlite``, which also runs statements without a thread hop).
On PostgreSQL writes are ordinary transactions and nothing is queued; ``read_rows()`` (and a
``write_rows(one_statement=True)``) run without one, each statement on its own.

Every wait has an end, so a stuck database costs a member a few seconds and a clear "nothing was
changed, try again", never a silent hang: SQLite's lock wait and the writers' queue, and on
PostgreSQL a connect timeout, a per-statement timeout and a pool timeout. Those failures leave
``read()`` and ``write()`` as ``DatabaseUnavailable``; a write that raises is rolled back whole.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

from bot.db.group_commit import WriterQueue
from bot.db.inline_sqlite import inline_url, is_busy
from bot.db.postgres_pool import PostgresPool
from bot.db.wal_checkpoints import WalCheckpointer
from bot.errors import DatabaseUnavailable

SQLITE_BEGIN_OPTION = "pln_sqlite_begin"
# Seconds a unit of work waits for this process's other SQLite writers, or for a pooled
# connection, before giving up.
QUEUE_TIMEOUT = 5.0
# PostgreSQL: seconds to open a connection, and for any one statement to answer.
CONNECT_TIMEOUT = 5.0
STATEMENT_TIMEOUT = 5.0
# What the drivers say when SQLite's write lock stayed taken, or PostgreSQL gave up a statement.
_UNAVAILABLE_MESSAGES = (
    "database is locked",
    "database is busy",
    "canceling statement due to statement timeout",
    "canceling statement due to lock timeout",
    "connection was closed",
    "connection is closed",
    "connection refused",
)


def is_unavailable(error: BaseException) -> bool:
    """Whether an error means "the database did not answer", as opposed to a bug or bad data."""
    if isinstance(error, TimeoutError | OSError | sa_exc.TimeoutError | DatabaseUnavailable):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        cause = error.orig
        if isinstance(cause, TimeoutError | OSError):
            return True
        text = f"{type(cause).__name__}: {cause}".lower()
        return any(message in text for message in _UNAVAILABLE_MESSAGES) or (
            "connection" in type(cause).__name__.lower()
        )
    return False


@contextmanager
def _unavailable_as(message: str) -> Iterator[None]:
    """Turn "the database did not answer" into DatabaseUnavailable; let everything else by."""
    try:
        yield
    except Exception as error:
        if is_unavailable(error):
            raise DatabaseUnavailable(message) from error
        raise


def _ensure_sqlite_folder(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _checkpointer(url: str) -> WalCheckpointer | None:
    """Checkpoints for a SQLite file (none for a database in memory)."""
    parsed = make_url(url)
    database = parsed.database
    options = {key: value for key, value in parsed.query.items() if key != "uri"}
    if not database or database == ":memory:" or options.get("mode") in ("memory", "ro"):
        return None
    if not database.startswith("file:"):
        return WalCheckpointer(database)
    query = "&".join(f"{key}={value}" for key, value in options.items())
    return WalCheckpointer(f"{database}?{query}" if query else database, uri=True)


CACHE_KIB = 32 * 1024
# The write-ahead log's file is cut back to this size once a checkpoint has folded it in: a
# burst of writes (300 shares a second in `make bench`) grew it to 213 MB beside a 9 MB
# database, and SQLite keeps a log file at its largest size unless told otherwise.
WAL_KEEP_BYTES = 64 * 1024 * 1024
_BEGIN = {mode: f"BEGIN {mode}" for mode in ("DEFERRED", "IMMEDIATE")}


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA synchronous=NORMAL",
            # Checkpoints run on a thread of their own (WalCheckpointer), not in a commit.
            "PRAGMA wal_autocheckpoint=0",
            # Up to 32 MiB of pages kept per connection (SQLite's default is 2 MiB): in a big
            # server the indexes a command searches no longer fit in 2 MiB, and every page
            # read again from the file cost /progress a third of its time at 1M events.
            # It grows only as pages are read: a small server's whole file is a few MiB.
            f"PRAGMA cache_size=-{CACHE_KIB}",
            f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        # Straight to the driver's cursor (which still waits out a lock on the event loop):
        # through exec_driver_sql, SQLAlchemy's statement machinery cost more than the BEGIN.
        driver = connection.connection.dbapi_connection
        assert driver is not None  # a connection that is beginning is open
        cursor = driver.cursor()
        try:
            cursor.execute(_BEGIN[mode])
        except sqlite3.Error as error:  # as SQLAlchemy would have raised it
            raise sa_exc.DBAPIError.instance(_BEGIN[mode], (), error, sqlite3.Error) from error
        finally:
            cursor.close()


class Database:
    """One engine and the session factories built on it; made at start-up, disposed at close."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        statement_timeout: float | None = STATEMENT_TIMEOUT,
    ) -> None:
        """``statement_timeout=None`` is for migrations, whose statements may take minutes."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo, "pool_timeout": QUEUE_TIMEOUT}
        if self.is_sqlite:
            _ensure_sqlite_folder(url)
            if make_url(url).database not in (None, "", ":memory:"):
                # Inline connections are cheap to keep and each new one runs its PRAGMAs:
                # enough for every command in flight, so they are reused, not reopened.
                # Last used, first reused: its page cache is the warmest.
                kwargs.update(pool_size=20, max_overflow=20, pool_use_lifo=True)
        else:
            # Kept open for every unit of work a busy bot runs at once (commands in flight, the
            # outbox and answer workers, ingestion). A connection past pool_size is opened for
            # one unit and closed after it: PostgreSQL forks a backend, asyncpg looks up its
            # types and re-prepares each statement, a few milliseconds of CPU on both sides.
            # With 10 kept, /progress at 16 in flight reopened connections all the time and
            # ran at 140/s; with 20, at 405/s (py-spy: connect, type lookups, prepares gone).
            # Twenty per process stays well inside PostgreSQL's default 100 connections.
            kwargs.update(
                pool_size=20,
                max_overflow=10,
                pool_use_lifo=True,  # see PostgresPool
                connect_args={
                    "timeout": CONNECT_TIMEOUT,
                    "command_timeout": statement_timeout,
                    # The bot's queries are small index searches: starting parallel workers
                    # for them costs more than the query (seen as 10 ms for 0.2 ms of work).
                    "server_settings": {"max_parallel_workers_per_gather": "0"},
                },
            )
        # SQLite runs inline, without aiosqlite's thread hop per statement (see inline_sqlite).
        self.engine = create_async_engine(inline_url(url) if self.is_sqlite else url, **kwargs)
        writer_engine = self.engine
        if self.is_sqlite:
            _tune_sqlite(self.engine)
            writer_engine = self.engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        self._write_queue = WriterQueue() if self.is_sqlite else None
        # From the start: every write, whether through write() or the engine itself (bulk
        # loads, migrations), grows the log until a checkpoint folds it back.
        self._checkpoints = _checkpointer(url) if self.is_sqlite else None
        if self._checkpoints is not None:
            self._checkpoints.start()
        self._writer_engine = writer_engine
        # On PostgreSQL a read-only unit runs each statement on its own: at READ COMMITTED each
        # statement of a transaction takes its own snapshot anyway, so BEGIN and ROLLBACK were
        # two round trips that bought nothing (a one-statement read paid three).
        self._autocommit_engine = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._postgres_pool = None if self.is_sqlite else PostgresPool(self.engine)
        self._readers = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writers = async_sessionmaker(writer_engine, expire_on_commit=False)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for looking only; rolled back at the end."""
        with _unavailable_as(DatabaseUnavailable.LOOKING):
            async with self._readers() as session:
                yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose changes are committed together, or not at all if the block raises."""
        with _unavailable_as(DatabaseUnavailable.SAVING):
            async with self._queued(), self._writers() as session, session.begin():
                yield session

    @asynccontextmanager
    async def read_rows(self, *, in_transaction: bool = False) -> AsyncIterator[AsyncConnection]:
        """Like ``read()``, for statements on tables (Core) only: no ORM session around them.

        The hot paths run only statements built once on the Core tables; an ORM session added
        about a third to the cost of each (its unit of work, identity map and transaction
        bookkeeping), for nothing they use. On PostgreSQL the statements run outside a
        transaction unless ``in_transaction`` (for ``SET LOCAL``, say).
        """
        engine = self.engine if in_transaction else self._autocommit_engine
        with _unavailable_as(DatabaseUnavailable.LOOKING):
            async with self._connected(engine) as unit:
                yield unit  # closing it ends the read (a rollback)

    @asynccontextmanager
    async def write_rows(self, *, one_statement: bool = False) -> AsyncIterator[AsyncConnection]:
        """Like ``write()``, for statements on tables (Core) only (see ``read_rows``).

        ``one_statement``: the unit changes things with a single statement (reads after it may
        follow), which is atomic on its own: on PostgreSQL it runs without BEGIN and COMMIT,
        two round trips of three.
        """
        with _unavailable_as(DatabaseUnavailable.SAVING):
            if one_statement and not self.is_sqlite:
                async with self._connected(self._autocommit_engine) as unit:
                    yield unit
                return
            if self._write_queue is None:  # PostgreSQL: no queue
                async with self._writer_engine.begin() as connection:
                    yield connection
                return
            committed: asyncio.Future[None] | None = None
            async with self._write_queue.turn(join=True, patience=QUEUE_TIMEOUT) as group:
                if group is not None:  # writers queued together commit together
                    with group.savepoint() as joined:
                        yield AsyncConnection(self._writer_engine, joined)
                    committed = group.committed
                else:
                    inline = self._inline_writer()
                    if inline is None:
                        async with self._writer_engine.begin() as connection:
                            yield connection
                        return
                    try:
                        yield AsyncConnection(self._writer_engine, inline)
                    except BaseException:
                        inline.close()  # rolls back
                        raise
                    # Committed once the writers that start meanwhile are done too.
                    committed = self._write_queue.keep_open(inline)
            if committed is not None:
                try:
                    await asyncio.shield(committed)
                except Exception as error:  # the group's commit failed: none of it was kept
                    raise DatabaseUnavailable(DatabaseUnavailable.SAVING) from error

    def _inline_writer(self) -> Connection | None:
        """An inline connection (``_inline_connection``) that began its write, or None when
        none is idle or another process holds the write lock: the async engine's BEGIN waits
        that out by sleeping on the event loop (``inline_sqlite``), which needs its greenlet."""
        connection = self._inline_connection(self._writer_engine)
        if connection is None:
            return None
        try:
            connection.begin()  # outside a greenlet, BEGIN IMMEDIATE is tried once
        except sa_exc.OperationalError as error:
            connection.close()
            if isinstance(error.orig, sqlite3.OperationalError) and is_busy(error.orig):
                return None
            raise
        return connection

    def _inline_connection(self, engine: AsyncEngine) -> Connection | None:
        """An idle pooled connection taken without SQLAlchemy's async wrapping, or None: the
        async engine then opens or waits for one.

        On SQLite the driver runs inline (``inline_sqlite``), so taking a connection,
        committing and closing never wait on anything; through the async engine each was a
        greenlet switch, and closing a task of its own: 130 µs for an empty read and 280 µs
        for an empty write on this machine, more than a /share's statements together. On
        PostgreSQL only a unit outside a transaction is taken so (``PostgresPool``).
        """
        if self._postgres_pool is not None:
            if engine is not self._autocommit_engine:
                return None  # its COMMIT awaits
            return self._postgres_pool.take_inline(engine)
        pool = engine.sync_engine.pool
        if not isinstance(pool, QueuePool) or not pool.checkedin():
            return None  # opening one may wait (SQLAlchemy's first-connect lock): async only
        return engine.sync_engine.connect()

    @asynccontextmanager
    async def _connected(self, engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
        """A unit on a pooled connection of ``engine``, taken and given back directly when
        neither waits (``_inline_connection``), else through the async engine. Giving one back
        waits when PostgreSQL's pool, full, would close it (a connection opened past its size).
        """
        inline = self._inline_connection(engine)
        if inline is None:
            async with engine.connect() as connection:
                yield connection
            return
        unit = AsyncConnection(engine, inline)
        try:
            yield unit
        finally:
            pool = inline.engine.pool
            if self._postgres_pool is not None and self._postgres_pool.closes_at_checkin(pool):
                await asyncio.shield(unit.close())
            else:
                inline.close()

    @asynccontextmanager
    async def _queued(self) -> AsyncIterator[None]:
        """Take this process's SQLite writer turn, waiting at most QUEUE_TIMEOUT in all, for a
        write that can't join other writers' transaction (an ORM session's).

        The time spent queuing counts against the wait for another process's lock too: a write
        queued behind one that waited out a locked database would otherwise wait twice as long.
        """
        if self._write_queue is None:
            yield
            return
        async with self._write_queue.turn(join=False, patience=QUEUE_TIMEOUT):
            yield

    @property
    def writing(self) -> bool:
        """Whether a write of this engine holds SQLite's writer turn right now.

        Code that blocks the event loop synchronously must not wait on another connection's
        write while this is true: the write holding the lock could never finish.
        """
        return self._write_queue is not None and self._write_queue.busy

    async def dispose(self) -> None:
        if self._write_queue is not None:
            await self._write_queue.finish()
        if self._checkpoints is not None:
            self._checkpoints.stop()
        await self.engine.dispose()
