"""SQLite writers queued together commit together, and each is still told the truth."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import Connection

from bot.db import Database, Server
from bot.errors import DatabaseUnavailable


@pytest.fixture
def sqlite_file(tmp_path: Path, sqlite_template: Path) -> Path:
    path = tmp_path / "grouped.sqlite3"
    path.write_bytes(sqlite_template.read_bytes())
    return path


@pytest.fixture
async def sqlite_database(sqlite_file: Path) -> Database:
    database = Database(f"sqlite+aiosqlite:///{sqlite_file}")
    # Idle pooled connections: writes take the inline path, as they do in a running bot.
    async with database.read_rows() as warm:
        await warm.execute(text("SELECT 1"))
    return database


def _count_commits(database: Database) -> list[int]:
    commits: list[int] = []

    @event.listens_for(database.engine.sync_engine, "commit")
    def _on_commit(_connection: Connection) -> None:
        commits.append(1)

    return commits


_ADD_SERVER = text(
    "INSERT INTO servers (id, name, challenge_selection, created_at) "
    "VALUES (:id, :name, 'rotate', '2026-12-01 00:00:00.000000')"
)


async def _server_ids(database: Database) -> set[int]:
    # A connection of its own: what is there is what was committed.
    async with database.read() as session:
        return set((await session.scalars(select(Server.id))).all())


async def _add(database: Database, server_id: int, *, hold: float = 0.0) -> set[int]:
    """Add a server; return the servers another connection sees the moment the write returns."""
    async with database.write_rows() as connection:
        await connection.execute(_ADD_SERVER, {"id": server_id, "name": f"s{server_id}"})
        if hold:
            await asyncio.sleep(hold)  # the others queue meanwhile
    return await _server_ids(database)


async def _breaks_the_commit(database: Database) -> None:
    """A write whose foreign key is checked only at COMMIT, where it fails."""
    async with database.write_rows() as connection:
        await connection.execute(text("PRAGMA defer_foreign_keys = ON"))
        await connection.execute(
            text(
                "INSERT INTO members (server_id, user_id, display_name, first_seen_at, "
                "last_seen_at) VALUES (999, 7, 'orphan', '2026-12-01 00:00:00', "
                "'2026-12-01 00:00:00')"
            )
        )


async def test_writers_queued_together_share_a_commit_and_return_once_it_is_made(
    sqlite_database: Database,
) -> None:
    commits = _count_commits(sqlite_database)
    try:
        first = asyncio.ensure_future(_add(sqlite_database, 1, hold=0.05))
        await asyncio.sleep(0.01)  # the first holds the writer turn: 19 more queue behind it
        seen = await asyncio.gather(
            first, *(_add(sqlite_database, server_id) for server_id in range(2, 21))
        )
        # Each write, once it returned, was visible to every other connection: committed.
        for server_id, visible in enumerate(seen, start=1):
            assert server_id in visible
        assert await _server_ids(sqlite_database) == set(range(1, 21))
        assert len(commits) < 5  # one writer at a time used to mean 20 commits
    finally:
        await sqlite_database.dispose()


async def test_writes_started_in_the_same_turn_of_the_loop_commit_together(
    sqlite_database: Database,
) -> None:
    """Commands woken by one burst of Discord events: none of them waits on another's write
    (SQLite runs inline), yet they share one commit."""
    commits = _count_commits(sqlite_database)
    try:
        seen = await asyncio.gather(
            *(_add(sqlite_database, server_id) for server_id in range(1, 11))
        )
        for server_id, visible in enumerate(seen, start=1):
            assert server_id in visible
        assert len(commits) == 1
    finally:
        await sqlite_database.dispose()


async def test_a_writer_that_fails_in_a_group_loses_only_its_own_changes(
    sqlite_database: Database,
) -> None:
    async def failing() -> None:
        async with sqlite_database.write_rows() as connection:
            await connection.execute(_ADD_SERVER, {"id": 2, "name": "lost"})
            raise ValueError("bad input, found after the insert")

    try:
        first = asyncio.ensure_future(_add(sqlite_database, 1, hold=0.05))
        await asyncio.sleep(0.01)
        results = await asyncio.gather(
            first, failing(), _add(sqlite_database, 3), return_exceptions=True
        )
        assert isinstance(results[1], ValueError)
        assert await _server_ids(sqlite_database) == {1, 3}
    finally:
        await sqlite_database.dispose()


async def test_when_a_group_cannot_commit_every_writer_in_it_is_told_nothing_was_kept(
    sqlite_database: Database,
) -> None:
    try:
        first = asyncio.ensure_future(_add(sqlite_database, 1, hold=0.05))
        await asyncio.sleep(0.01)
        results = await asyncio.gather(
            first,
            _breaks_the_commit(sqlite_database),
            _add(sqlite_database, 3),
            return_exceptions=True,
        )
        assert all(isinstance(result, DatabaseUnavailable) for result in results), results
        assert await _server_ids(sqlite_database) == set()
        # The next write starts afresh.
        assert await _add(sqlite_database, 4) == {4}
    finally:
        await sqlite_database.dispose()


async def test_an_orm_write_queued_behind_a_group_commits_it_first(
    sqlite_database: Database,
) -> None:
    async def orm_add(server_id: int) -> set[int]:
        async with sqlite_database.write() as session:
            session.add(Server(id=server_id, name="orm", challenge_selection="rotate"))
        return await _server_ids(sqlite_database)

    try:
        first = asyncio.ensure_future(_add(sqlite_database, 1, hold=0.05))
        await asyncio.sleep(0.01)
        grouped = asyncio.ensure_future(_add(sqlite_database, 2))
        await asyncio.sleep(0)
        orm = await orm_add(3)
        assert {1, 2, 3} <= orm
        assert await first >= {1, 2}
        assert 2 in await grouped
        assert await _server_ids(sqlite_database) == {1, 2, 3}
    finally:
        await sqlite_database.dispose()


async def test_a_lone_write_whose_commit_fails_leaves_the_next_write_unharmed(
    sqlite_database: Database,
) -> None:
    try:
        with pytest.raises(DatabaseUnavailable):
            await _breaks_the_commit(sqlite_database)
        # The same pooled connection is reused (last in, first out): it was rolled back.
        for server_id in range(1, 4):
            assert server_id in await _add(sqlite_database, server_id)
        assert await _server_ids(sqlite_database) == {1, 2, 3}
    finally:
        await sqlite_database.dispose()
