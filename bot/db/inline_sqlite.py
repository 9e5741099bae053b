"""SQLite for the async engine without a thread hop per statement.

aiosqlite runs every call (open a cursor, execute, fetch) on a thread of its own and wakes the
event loop for each answer: two or three hops per statement, about 0.3 ms of CPU each on this
machine, where the statement itself takes 0.01–0.05 ms. A /share (eight statements) spent more
on hopping than on SQL. This dialect calls Python's ``sqlite3`` directly on the calling thread
instead, inside the greenlet SQLAlchemy's async engine already runs its work in.

The one thing that must not happen on the event loop is a wait for SQLite's write lock, so the
connections have no busy timeout: a statement that finds the database locked (another process,
or this process's ingest writer, is committing) gives the loop back with ``asyncio.sleep`` and
tries again, in steps that grow to 20 ms, for at most ``BUSY_TIMEOUT`` seconds; then it raises
"database is locked" as SQLite would. A failed statement changed nothing, so trying it again is
safe. Reads under WAL never wait for writers, and this process's writers queue on an asyncio
lock before they begin (``Database.write``), so on the happy path nothing ever waits.

Statements are short index look-ups and small writes; the few heavier reads (a year of
activity for a member's progress) run for milliseconds, which is what a thread hop per
statement used to cost anyway.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from contextvars import ContextVar
from types import ModuleType
from typing import Any, TypeVar

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.util.concurrency import await_, in_greenlet

DRIVER = "pln_inline"
BUSY_TIMEOUT = 5.0
# When the current unit of work must be done waiting (``time.monotonic()``), if sooner than
# BUSY_TIMEOUT from a statement's start: a write that queued behind this process's other writers
# has spent part of its patience already (``Database.write`` sets it).
wait_until: ContextVar[float | None] = ContextVar("pln_sqlite_wait_until", default=None)
_FIRST_PAUSE, _LONGEST_PAUSE = 0.001, 0.02

_T = TypeVar("_T")


def is_busy(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "database is locked" in text or "database is busy" in text


async def _at_once() -> None:
    """Awaited without suspending: SQLAlchemy's async connection checks that its driver awaited
    something, to catch sync drivers used by mistake; this driver is sync on purpose."""


# Set on a thread that runs SQLite for the event loop (``group_commit``): there a wait for the
# lock sleeps the thread, not the loop.
off_the_loop: ContextVar[bool] = ContextVar("pln_sqlite_off_the_loop", default=False)


def _patiently(call: Callable[[], _T]) -> _T:
    """``call()``; while SQLite says it is locked, sleep on the event loop and call again."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    if off_the_loop.get():
        return _retried_while_busy(call, deadline, time.sleep)
    if not in_greenlet():  # not under the async engine (e.g. a pool closing at exit)
        return call()
    await_(_at_once())
    shared = wait_until.get()
    if shared is not None:
        deadline = min(deadline, shared)
    return _retried_while_busy(call, deadline, lambda pause: await_(asyncio.sleep(pause)))


def _retried_while_busy(
    call: Callable[[], _T], deadline: float, sleep: Callable[[float], object]
) -> _T:
    """``call()``, and again after pauses that grow to _LONGEST_PAUSE while SQLite says it is
    locked, until ``deadline`` (``time.monotonic()``); a failed statement changed nothing."""
    pause = _FIRST_PAUSE
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if not is_busy(error) or time.monotonic() >= deadline:
                raise
        sleep(pause)
        pause = min(pause * 2, _LONGEST_PAUSE)


class _Cursor:
    """A ``sqlite3.Cursor`` whose statements wait for a lock without blocking the loop."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def execute(self, operation: Any, parameters: Any = ()) -> Any:
        return _patiently(lambda: self._cursor.execute(operation, parameters))

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        rows = list(seq_of_parameters)
        return _patiently(lambda: self._cursor.executemany(operation, rows))

    # The calls SQLAlchemy makes on every statement, spelled out (``__getattr__`` costs more).
    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    def close(self) -> None:
        self._cursor.close()

    async def _async_soft_close(self) -> None:
        """Asked for by SQLAlchemy's async results; a sync cursor keeps its rows until closed."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def __iter__(self) -> Any:
        return iter(self._cursor)


class _Connection:
    """A ``sqlite3.Connection`` handing out patient cursors."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def cursor(self, *args: Any, **kwargs: Any) -> _Cursor:
        return _Cursor(self._connection.cursor(*args, **kwargs))

    def execute(self, operation: Any, parameters: Any = ()) -> _Cursor:
        cursor = self.cursor()
        cursor.execute(operation, parameters)
        return cursor

    def commit(self) -> None:
        _patiently(self._connection.commit)

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self._connection.isolation_level = value

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


class _DBAPI(ModuleType):
    """``sqlite3`` whose ``connect`` returns patient connections with no busy timeout."""

    def __init__(self) -> None:
        super().__init__("pln_inline_sqlite3")
        for name in dir(sqlite3):
            if not name.startswith("__") and name != "connect":
                setattr(self, name, getattr(sqlite3, name))

    def connect(self, *args: Any, **kwargs: Any) -> _Connection:
        kwargs["timeout"] = 0  # never sleep inside SQLite: _patiently sleeps on the loop
        kwargs["check_same_thread"] = False  # the pool may close it from another thread
        return _Connection(sqlite3.connect(*args, **kwargs))


class InlineSQLiteDialect(SQLiteDialect_pysqlite):
    """pysqlite, run inline in the async engine's greenlets."""

    driver = DRIVER
    is_async = True
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        return _DBAPI()

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        if cls._is_url_file_db(url):
            return pool.AsyncAdaptedQueuePool
        return pool.StaticPool

    def get_driver_connection(self, connection: Any) -> Any:
        return connection._connection


registry.register(f"sqlite.{DRIVER}", __name__, "InlineSQLiteDialect")


def inline_url(url: str | URL) -> URL:
    """The same SQLite database, through this dialect."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername=f"sqlite+{DRIVER}")
