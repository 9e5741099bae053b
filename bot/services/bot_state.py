"""Small facts the bot keeps across restarts, by key."""

from __future__ import annotations

from sqlalchemy import select

from bot.db import BotState, Database, utcnow
from bot.db.upsert import dialect_insert


class BotStateStore:
    """Read and write small string facts by key (one row each)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def get(self, key: str) -> str | None:
        async with self._database.read() as session:
            value: str | None = await session.scalar(
                select(BotState.value).where(BotState.key == key)
            )
            return value

    async def set(self, key: str, value: str) -> None:
        async with self._database.write() as session:
            insert = dialect_insert(session, BotState).values(
                key=key, value=value, updated_at=utcnow()
            )
            await session.execute(
                insert.on_conflict_do_update(
                    index_elements=[BotState.key],
                    set_={"value": insert.excluded.value, "updated_at": insert.excluded.updated_at},
                )
            )
