"""Shared fixtures: a fresh, migrated database on every backend this machine offers.

SQLite always runs (a real file per test). PostgreSQL runs too when ``PLN_TEST_DATABASE_URL``
points at one (``.ci/run`` sets it). Each test gets a database migrated to head with no rows
(``empty_database_url``: no schema at all, for tests of migrating).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from bot.db import Base, Database
from bot.db.migrate import upgrade


def _for_this_worker(url: str | None) -> str | None:
    """Under pytest-xdist each worker gets its own database (``test_gw0``…), created on first
    use next to the one named, so workers never wipe each other's tables."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if url is None or not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


SHARED_POSTGRES_URL = os.environ.get("PLN_TEST_DATABASE_URL")
POSTGRES_URL = _for_this_worker(SHARED_POSTGRES_URL)
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def environment_without_bot_settings() -> dict[str, str]:
    """This process's environment minus PLN_* and DISCORD_TOKEN, for starting pln-coach."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PLN_") and key != "DISCORD_TOKEN"
    }


def asyncpg_url(url: str) -> str:
    """Accept a plain postgresql:// URL in the environment and use the asyncpg driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url


async def _create_if_missing(url: str) -> None:
    if SHARED_POSTGRES_URL is None or url == asyncpg_url(SHARED_POSTGRES_URL):
        return
    name = make_url(url).database
    shared = Database(asyncpg_url(SHARED_POSTGRES_URL))
    try:
        async with shared.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            exists = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await shared.dispose()


# Whether the PostgreSQL test schema is at head with only this suite's tables in it, so the
# next test needs its rows emptied rather than the schema rebuilt (migrating takes ~0.4 s).
_postgres_at_head = False


async def reset_postgres(url: str) -> None:
    """Empty the test database; refuses any database whose name does not say it is for tests."""
    global _postgres_at_head
    _postgres_at_head = False  # whoever resets it, the next test migrates it again
    name = make_url(url).database or ""
    if "test" not in name:
        raise RuntimeError(
            f"refusing to wipe {name!r}: PLN_TEST_DATABASE_URL must name a test database"
        )
    await _create_if_missing(url)
    database = Database(url)
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await database.dispose()


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head, copied for each test (migrating each is slow)."""
    path = tmp_path_factory.mktemp("template") / "migrated.sqlite3"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(db)
    finally:
        await db.dispose()  # the last connection's close folds the WAL into the file
    return path


async def empty_postgres(url: str) -> bool:
    """Delete every row, keeping the migrated schema (and its alembic version).

    False when a table is missing (a test dropped one on purpose): then migrate afresh.
    """
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    database = Database(url)
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        return True
    except ProgrammingError:
        return False
    finally:
        await database.dispose()


@pytest.fixture(params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> str:
    """A URL to a database migrated to head with no rows: a copy of a migrated SQLite file,
    or the PostgreSQL test schema emptied."""
    global _postgres_at_head
    if request.param == "sqlite":
        path = tmp_path / "pln-coach.sqlite3"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    assert POSTGRES_URL is not None
    url = asyncpg_url(POSTGRES_URL)
    if _postgres_at_head and await empty_postgres(url):
        return url
    await reset_postgres(url)
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()
    _postgres_at_head = True
    return url


@pytest.fixture(params=BACKENDS)
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty database, with no schema: for tests of migrating itself."""
    global _postgres_at_head
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'pln-coach.sqlite3'}"
    assert POSTGRES_URL is not None
    url = asyncpg_url(POSTGRES_URL)
    await reset_postgres(url)  # this test leaves the schema however it likes
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database, disposed after the test."""
    db = Database(database_url)
    try:
        yield db
    finally:
        await db.dispose()
