"""Run alembic from inside the bot, on the bot's own engine.

Two things make migrations at start-up safe:
- On SQLite, foreign keys are switched off while migrating. Alembic changes SQLite tables by
  copying them and dropping the old one, and with foreign keys on, that drop would cascade and
  silently delete every dependent row (members' shares, the whole ledger). Integrity is checked
  with ``PRAGMA foreign_key_check`` before committing instead.
- On PostgreSQL, a transaction-level advisory lock makes several processes starting at once
  (shard clusters) migrate one after another rather than racing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

import migrations
from bot.db.database import SQLITE_BEGIN_OPTION, Database

# Any fixed 64-bit number shared by every PLN Coach process ("PLN" in ASCII).
MIGRATION_LOCK_KEY = 0x504C4E


class MigrationError(RuntimeError):
    """A migration would have left the database inconsistent; nothing was committed."""


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    return config


async def _set_sqlite_foreign_keys(connection: AsyncConnection, enabled: bool) -> None:
    # Must run outside a transaction: inside one, SQLite ignores this pragma.
    raw = await connection.get_raw_connection()
    assert raw.driver_connection is not None
    await raw.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if enabled else 'OFF'}")


@asynccontextmanager
async def schema_change(database: Database) -> AsyncIterator[AsyncConnection]:
    """A connection in one transaction, safe for changing the schema (see module docstring)."""
    async with database.engine.connect() as connection:
        if database.is_sqlite:
            await _set_sqlite_foreign_keys(connection, enabled=False)
            # Take the write lock up front, so two processes migrating at once wait in turn.
            await connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        try:
            async with connection.begin():
                if not database.is_sqlite:
                    await connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                    )
                yield connection
                if database.is_sqlite:
                    broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise MigrationError(
                            f"the migration would leave {len(broken)} rows pointing at missing "
                            f"rows (first: {tuple(broken[0])}); nothing was changed"
                        )
        finally:
            if database.is_sqlite:
                await _set_sqlite_foreign_keys(connection, enabled=True)


async def _run(database: Database, action: str, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        (command.upgrade if action == "upgrade" else command.downgrade)(config, revision)

    async with schema_change(database) as connection:
        await connection.run_sync(run)


async def is_at_head(database: Database) -> bool:
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())

    def current(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    async with database.engine.connect() as connection:
        return await connection.run_sync(current) == heads


async def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision``.

    Already at head (every normal start) costs one read: no lock, no integrity scan.
    """
    if revision == "head" and await is_at_head(database):
        return
    await _run(database, "upgrade", revision)


async def downgrade(database: Database, revision: str) -> None:
    await _run(database, "downgrade", revision)
