"""Per-server settings that admins choose (today: where resource cards are posted)."""

from __future__ import annotations

from sqlalchemy import update

from bot.db import Database, Server
from bot.services.members import touch_server


class ServerSettingsService:
    """Changes to a server's settings; reading them happens where they are used."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def set_shares_channel(
        self, server_id: int, server_name: str, channel_id: int | None
    ) -> None:
        """Post resource cards to ``channel_id``; ``None`` means "where /share was used"."""
        async with self._database.write() as session:
            await touch_server(session, server_id, server_name)
            await session.execute(
                update(Server).where(Server.id == server_id).values(shares_channel_id=channel_id)
            )
