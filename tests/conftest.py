"""Shared fixtures: a fresh, migrated database on every backend this machine offers.

SQLite always runs (a real file per test). PostgreSQL runs too when ``PLN_TEST_DATABASE_URL``
points at one (``.ci/run`` sets it); each test then starts from an empty ``public`` schema.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.db import Database
from bot.db.migrate import upgrade

POSTGRES_URL = os.environ.get("PLN_TEST_DATABASE_URL")
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


async def reset_postgres(url: str) -> None:
    """Empty the test database; refuses any database whose name does not say it is for tests."""
    name = make_url(url).database or ""
    if "test" not in name:
        raise RuntimeError(
            f"refusing to wipe {name!r}: PLN_TEST_DATABASE_URL must name a test database"
        )
    database = Database(url)
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await database.dispose()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty database: a new SQLite file, or a wiped PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'pln-coach.sqlite3'}"
    assert POSTGRES_URL is not None
    url = asyncpg_url(POSTGRES_URL)
    await reset_postgres(url)
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated database, disposed after the test."""
    db = Database(database_url)
    await upgrade(db)
    try:
        yield db
    finally:
        await db.dispose()
