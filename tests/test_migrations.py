"""The migrations build exactly the models' schema, and can be taken back down."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from bot.db import Base, Database
from bot.db.migrate import downgrade, upgrade


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def _drift(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def test_empty_database_upgrades_to_head_and_back_to_base(database_url: str) -> None:
    database = Database(database_url)
    try:
        await upgrade(database)
        async with database.engine.connect() as connection:
            assert await connection.run_sync(_tables) == set(Base.metadata.tables)
            assert await connection.run_sync(_drift) == []
        await upgrade(database)  # already at head: nothing to do, nothing breaks
        await downgrade(database, "base")
        async with database.engine.connect() as connection:
            assert await connection.run_sync(_tables) == set()
    finally:
        await database.dispose()
