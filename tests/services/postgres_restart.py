"""What a PostgreSQL restart does to a bot's pooled connections, for tests of what comes after."""

from __future__ import annotations

from sqlalchemy import text

from bot.db import Database


async def drop_other_connections(database: Database) -> None:
    """PostgreSQL ends every connection to the database but the one this uses."""
    async with database.read_rows() as unit:
        await unit.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
