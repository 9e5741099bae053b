"""Per-server settings that admins choose: where resource cards, intro cards and asks go."""

from __future__ import annotations

import enum

from sqlalchemy import select, update

from bot.db import Database, Server, utcnow
from bot.services.answers import AnswerTicket, OwedAnswer, PendingAnswers
from bot.services.members import Actor, touch_actor


class ChannelSetting(enum.StrEnum):
    """A channel an admin picks; its value is also the kind of the admin's owed answer."""

    # Resource cards from /share (else where /share is used).
    SHARES = "shares_channel"
    # Intro cards and welcomes (else where /connect intro is used; welcomes: system channel).
    INTROS = "intros_channel"
    # Threads for /ask: a text channel or a forum (else where /ask is used).
    ASKS = "asks_channel"

    @property
    def column(self) -> str:
        return f"{self.value}_id"


SHARES_CHANNEL_ANSWER = ChannelSetting.SHARES.value


class ServerSettingsService:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def channel(self, server_id: int, setting: ChannelSetting) -> int | None:
        async with self._database.read() as session:
            return await session.scalar(
                select(getattr(Server, setting.column)).where(Server.id == server_id)
            )

    async def channels(self, server_id: int) -> dict[ChannelSetting, int | None]:
        """Every channel an admin chose (None: its fallback applies), for /pln settings."""
        async with self._database.read() as session:
            row = (
                await session.execute(
                    select(*(getattr(Server, setting.column) for setting in ChannelSetting)).where(
                        Server.id == server_id
                    )
                )
            ).one_or_none()
        if row is None:
            return dict.fromkeys(ChannelSetting)
        return dict(zip(ChannelSetting, row, strict=True))

    async def shares_channel(self, server_id: int) -> int | None:
        return await self.channel(server_id, ChannelSetting.SHARES)

    async def set_channel(
        self,
        actor: Actor,
        setting: ChannelSetting,
        channel_id: int | None,
        *,
        answer: AnswerTicket,
    ) -> OwedAnswer:
        """Use ``channel_id`` for ``setting``; ``None`` clears it (its fallback applies).

        The admin's answer is owed with the change, so a crash cannot leave them guessing.
        """
        async with self._database.write() as session:
            await touch_actor(session, actor, utcnow())
            await session.execute(
                update(Server)
                .where(Server.id == actor.server_id)
                .values({setting.column: channel_id})
            )
            return await PendingAnswers.store(
                session,
                server_id=actor.server_id,
                member_id=actor.user_id,
                kind=setting.value,
                subject_id=channel_id or 0,
                outcome="set" if channel_id else "cleared",
                ticket=answer,
            )

    async def set_shares_channel(
        self, actor: Actor, channel_id: int | None, *, answer: AnswerTicket
    ) -> OwedAnswer:
        return await self.set_channel(actor, ChannelSetting.SHARES, channel_id, answer=answer)
