"""Per-server settings that admins choose (where resource cards and asks are posted)."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.db import Database, Server, utcnow
from bot.services.answers import AnswerTicket, OwedAnswer, PendingAnswers
from bot.services.asks import ASKS_CHANNEL_ANSWER
from bot.services.members import Actor, touch_actor

SHARES_CHANNEL_ANSWER = "shares_channel"


class ServerSettingsService:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def shares_channel(self, server_id: int) -> int | None:
        async with self._database.read() as session:
            return await session.scalar(
                select(Server.shares_channel_id).where(Server.id == server_id)
            )

    async def set_shares_channel(
        self, actor: Actor, channel_id: int | None, *, answer: AnswerTicket
    ) -> OwedAnswer:
        """Post resource cards to ``channel_id``; ``None`` means "where /share was used".

        The admin's answer is owed with the change, so a crash cannot leave them guessing.
        """
        async with self._database.write() as session:
            await touch_actor(session, actor, utcnow())
            await session.execute(
                update(Server)
                .where(Server.id == actor.server_id)
                .values(shares_channel_id=channel_id)
            )
            return await PendingAnswers.store(
                session,
                server_id=actor.server_id,
                member_id=actor.user_id,
                kind=SHARES_CHANNEL_ANSWER,
                subject_id=channel_id or 0,
                outcome="set" if channel_id else "cleared",
                ticket=answer,
            )

    async def set_asks_channel(
        self, actor: Actor, channel_id: int | None, *, answer: AnswerTicket
    ) -> OwedAnswer:
        """Open /ask threads in ``channel_id`` (a text channel or forum); ``None``: where used."""
        async with self._database.write() as session:
            await touch_actor(session, actor, utcnow())
            await session.execute(
                update(Server)
                .where(Server.id == actor.server_id)
                .values(asks_channel_id=channel_id)
            )
            return await PendingAnswers.store(
                session,
                server_id=actor.server_id,
                member_id=actor.user_id,
                kind=ASKS_CHANNEL_ANSWER,
                subject_id=channel_id or 0,
                outcome="set" if channel_id else "cleared",
                ticket=answer,
            )
