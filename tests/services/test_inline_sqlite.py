"""SQLite without a thread per statement: waiting for another writer never blocks the bot."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.db import Database, Server, inline_sqlite, wal_checkpoints
from bot.db import database as database_module
from bot.errors import DatabaseUnavailable


@pytest.fixture
def sqlite_database(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Database:
    # A checkpoint every half second, not every five: the tests that wait for one wait less.
    monkeypatch.setattr(wal_checkpoints, "INTERVAL", 0.5)
    path = tmp_path / "inline.sqlite3"
    path.write_bytes(sqlite_template.read_bytes())
    return Database(f"sqlite+aiosqlite:///{path}")


def _hold_write_lock(database: Database) -> sqlite3.Connection:
    """Another connection (another process, say) in the middle of a write."""
    path = database.engine.url.database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


async def _longest_stall(until: asyncio.Future[None]) -> float:
    """The longest the event loop went without running this task, while ``until`` is pending."""
    longest = 0.0
    while not until.done():
        before = time.perf_counter()
        await asyncio.sleep(0.005)
        longest = max(longest, time.perf_counter() - before - 0.005)
    return longest


_ADD_SERVER = text(
    "INSERT INTO servers (id, name, challenge_selection, created_at) "
    "VALUES (2, 'waited', 'rotate', '2026-12-01 00:00:00.000000')"
)


@pytest.mark.parametrize("unit", ["session", "rows"])
async def test_a_write_waits_for_another_writer_without_stalling_the_loop(
    sqlite_database: Database, unit: str
) -> None:
    # A pooled connection is idle: write_rows() takes it without the async engine's wrapping
    # (database._inline_writer), and must still wait its turn rather than fail.
    async with sqlite_database.read_rows() as warm:
        await warm.execute(text("SELECT 1"))
    holder = _hold_write_lock(sqlite_database)
    try:

        async def rename() -> None:
            if unit == "rows":
                async with sqlite_database.write_rows() as connection:
                    await connection.execute(_ADD_SERVER)
                return
            async with sqlite_database.write() as session:
                session.add(Server(id=2, name="waited", challenge_selection="rotate"))

        started = time.perf_counter()
        write = asyncio.ensure_future(rename())
        stall = asyncio.ensure_future(_longest_stall(write))
        await asyncio.sleep(0.3)
        assert not write.done()  # still waiting for the other writer
        holder.execute("COMMIT")
        await write
        waited = time.perf_counter() - started
        assert waited >= 0.3
        # The loop kept running other work while the write waited (a busy timeout inside
        # SQLite would have stopped it for the whole 0.3 s).
        assert await stall < 0.1
        async with sqlite_database.read() as session:
            assert await session.scalar(select(func.count()).select_from(Server)) == 1
    finally:
        holder.close()
        await sqlite_database.dispose()


async def test_a_lock_held_too_long_is_a_clear_failure_not_a_hang(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inline_sqlite, "BUSY_TIMEOUT", 0.2)
    holder = _hold_write_lock(sqlite_database)
    try:
        started = time.perf_counter()
        with pytest.raises(DatabaseUnavailable):
            async with sqlite_database.write() as session:
                session.add(Server(id=2, name="never", challenge_selection="rotate"))
        assert time.perf_counter() - started < 2
    finally:
        with contextlib.suppress(sqlite3.Error):
            holder.execute("ROLLBACK")
        holder.close()
        await sqlite_database.dispose()


async def test_the_log_is_folded_into_the_file_off_the_event_loop(
    sqlite_database: Database,
) -> None:
    """Commits never checkpoint (that would stop the bot for a copy and a sync); a thread of
    the database's own folds the write-ahead log into the file, so the log is reused rather
    than growing with every write."""
    path = sqlite_database.engine.url.database
    assert path is not None
    log = Path(f"{path}-wal")

    async def write_some(first: int) -> None:
        for server_id in range(first, first + 40):
            async with sqlite_database.write() as session:
                session.add(Server(id=server_id, name="x" * 90, challenge_selection="rotate"))

    try:
        await write_some(1)
        async with sqlite_database.read() as session:
            assert await session.scalar(text("PRAGMA wal_autocheckpoint")) == 0
        after_first = await asyncio.to_thread(os.path.getsize, log)
        await asyncio.sleep(wal_checkpoints.INTERVAL * 2.5)  # a checkpoint or two
        await write_some(41)
        # Without checkpoints the second batch would have doubled the log.
        assert await asyncio.to_thread(os.path.getsize, log) <= after_first * 1.2
    finally:
        await sqlite_database.dispose()


async def test_the_log_shrinks_back_after_a_burst_of_writes(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst grows the write-ahead log; once it is folded into the file and reused, its
    file is cut back instead of keeping the burst's size on disk for good."""
    keep = 64 * 1024
    # Read by each connection as it opens: the fixture's open on first use, below.
    monkeypatch.setattr(database_module, "WAL_KEEP_BYTES", keep)
    database = sqlite_database
    log = Path(f"{database.engine.url.database}-wal")
    try:
        async with database.write() as session:  # one big transaction: ~2 MB of log
            session.add_all(
                Server(id=server_id, name=f"{server_id:x}" * 20, challenge_selection="rotate")
                for server_id in range(1, 12_000)
            )
        burst = await asyncio.to_thread(os.path.getsize, log)
        assert burst > 20 * keep
        await asyncio.sleep(wal_checkpoints.INTERVAL * 2.5)  # a checkpoint or two
        async with database.write() as session:  # reuses the folded log from its start
            session.add(Server(id=20_000, name="after", challenge_selection="rotate"))
        assert await asyncio.to_thread(os.path.getsize, log) <= keep
    finally:
        await database.dispose()


async def test_time_spent_queuing_counts_against_the_wait_for_a_lock(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writes behind another process's lock: the second, queued behind the first, gives up
    when its own patience runs out, not after waiting out the lock again on its own."""
    monkeypatch.setattr(database_module, "QUEUE_TIMEOUT", 1.0)
    monkeypatch.setattr(inline_sqlite, "BUSY_TIMEOUT", 1.0)
    holder = _hold_write_lock(sqlite_database)
    try:

        async def write(server_id: int) -> float:
            started = time.perf_counter()
            with pytest.raises(DatabaseUnavailable):
                async with sqlite_database.write() as session:
                    session.add(Server(id=server_id, name="never", challenge_selection="rotate"))
            return time.perf_counter() - started

        first = asyncio.ensure_future(write(1))
        await asyncio.sleep(0.5)
        second = await write(2)
        assert await first >= 0.9
        assert second < 1.4  # about 1 s in all: 0.5 s queued, then the rest of its patience
    finally:
        with contextlib.suppress(sqlite3.Error):
            holder.execute("ROLLBACK")
        holder.close()
        await sqlite_database.dispose()
