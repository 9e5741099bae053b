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
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

import migrations
from bot.db.database import SQLITE_BEGIN_OPTION, Database

# Any fixed 64-bit number shared by every PLN Coach process ("PLN" in ASCII).
MIGRATION_LOCK_KEY = 0x504C4E


class MigrationError(RuntimeError):
    """A migration would have left the database inconsistent; nothing was committed."""


class DatabaseNewerThanCode(MigrationError):
    """The database was migrated by a newer PLN Coach; this code must not guess at its schema."""

    def __init__(self, revisions: list[str]) -> None:
        super().__init__(
            f"the database is at revision {', '.join(revisions)}, unknown to this version"
        )
        self.revisions = revisions


class UnknownRevision(MigrationError):
    """The revision asked for names no migration of this code; nothing was changed."""

    def __init__(self, revision: str, reason: str, known: list[str]) -> None:
        super().__init__(f"cannot migrate to {revision!r}: {reason}")
        self.revision = revision
        self.reason = reason
        self.known = known


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    return config


async def _set_sqlite_foreign_keys(connection: AsyncConnection, enabled: bool) -> None:
    # Must run outside a transaction: inside one, SQLite ignores this pragma.
    raw = await connection.get_raw_connection()
    assert raw.driver_connection is not None
    raw.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if enabled else 'OFF'}")


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


def known_revisions() -> list[str]:
    """This code's revision ids, newest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [script_revision.revision for script_revision in script.walk_revisions()]


def _heads() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


async def _current_revisions(database: Database) -> set[str]:
    def current(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    async with database.engine.connect() as connection:
        return await connection.run_sync(current)


def _refuse_unknown(current: set[str]) -> None:
    unknown = sorted(current - set(known_revisions()))
    if unknown:
        raise DatabaseNewerThanCode(unknown)


async def _run(database: Database, action: str, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        try:
            (command.upgrade if action == "upgrade" else command.downgrade)(config, revision)
        except CommandError as error:
            # The database's own revision was checked first, so what alembic cannot resolve is
            # the target (or a newer version migrated the database meanwhile: rare enough).
            if isinstance(error.__cause__, RevisionError):
                raise UnknownRevision(revision, str(error), known_revisions()) from error
            raise

    async with schema_change(database) as connection:
        await connection.run_sync(run)


async def is_at_head(database: Database) -> bool:
    return await _current_revisions(database) == _heads()


async def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision``.

    Already at head (every normal start) costs one read: no lock, no integrity scan. A database
    at a revision this code does not know raises DatabaseNewerThanCode rather than alembic's
    bare "Can't locate revision", so the operator learns that a newer version migrated it; a
    ``revision`` that names no migration raises UnknownRevision. Either way nothing changes.
    """
    current = await _current_revisions(database)
    _refuse_unknown(current)
    if revision == "head" and current == _heads():
        return
    await _run(database, "upgrade", revision)


async def downgrade(database: Database, revision: str) -> None:
    """Take the schema back to ``revision``; raises like ``upgrade`` does."""
    _refuse_unknown(await _current_revisions(database))
    await _run(database, "downgrade", revision)
