"""Alembic environment: async, and able to run on a connection the bot already holds.

`pln-coach db upgrade` and the bot's start-up pass their connection in
``config.attributes["connection"]``; the ``alembic`` command line opens its own engine from
``sqlalchemy.url`` or, when that is unset, from the bot's settings (config.toml / PLN_DATABASE__URL).
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from bot.db import Base, Database
from bot.db.migrate import schema_change
from bot.db.types import UTCDateTime

config = context.config
target_metadata = Base.metadata


def _render_item(kind: str, item: Any, _autogen_context: AutogenContext) -> str | bool:
    """Write our UTCDateTime as a plain timezone-aware DateTime, so migrations never import bot code."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from bot.config import load_settings

    return load_settings().database.url


async def _run_with_own_engine() -> None:
    # The same safeguards as the bot's own migrations (SQLite foreign keys, PostgreSQL lock).
    database = Database(_database_url())
    try:
        async with schema_change(database) as connection:
            await connection.run_sync(_configure)
    finally:
        await database.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=_database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    shared = config.attributes.get("connection")
    if shared is not None:
        _configure(shared)
    else:
        asyncio.run(_run_with_own_engine())
