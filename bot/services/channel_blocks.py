"""Channels where posting paused because Discord refused the bot a permission there.

Discord bans bots that collect 10,000 invalid requests in 10 minutes, so after one refusal the
bot stops trying that channel instead of retrying every post into it. The pause lasts until an
admin fixes the permission and ``/pln check`` finds it granted; the admins are told once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update

from bot.db import BlockedChannel, Database, utcnow
from bot.db.upsert import dialect_insert


@dataclass(frozen=True, slots=True)
class Block:
    server_id: int
    channel_id: int
    reason: str
    blocked_at: datetime


class ChannelBlockService:
    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._database = database
        self._clock = clock

    async def block(self, server_id: int, channel_id: int, reason: str) -> bool:
        """Pause posting in the channel; True when the admins are still to be told (once).

        Several posts refused at once, even in several processes, tell the admins one time:
        whoever moves ``told_at`` from empty does the telling.
        """
        now = self._clock()
        async with self._database.write() as session:
            await session.execute(
                dialect_insert(session, BlockedChannel)
                .values(
                    server_id=server_id,
                    channel_id=channel_id,
                    reason=reason[:200],
                    blocked_at=now,
                )
                .on_conflict_do_nothing()
            )
            told = await session.execute(
                update(BlockedChannel)
                .where(
                    BlockedChannel.server_id == server_id,
                    BlockedChannel.channel_id == channel_id,
                    BlockedChannel.told_at.is_(None),
                )
                .values(told_at=now)
            )
            return bool(getattr(told, "rowcount", 0))

    async def blocked(self, server_id: int) -> list[Block]:
        async with self._database.read() as session:
            rows = await session.scalars(
                select(BlockedChannel)
                .where(BlockedChannel.server_id == server_id)
                .order_by(BlockedChannel.blocked_at)
            )
            return [
                Block(row.server_id, row.channel_id, row.reason, row.blocked_at) for row in rows
            ]

    async def all_blocked(self) -> set[int]:
        """Every paused channel id, for the delivery worker's own copy."""
        async with self._database.read() as session:
            return set(await session.scalars(select(BlockedChannel.channel_id)))

    async def unblock(self, server_id: int, channel_ids: Iterable[int]) -> int:
        """Posting resumes in these channels (``/pln check`` found them fine)."""
        ids = list(channel_ids)
        if not ids:
            return 0
        async with self._database.write() as session:
            result = await session.execute(
                delete(BlockedChannel).where(
                    BlockedChannel.server_id == server_id, BlockedChannel.channel_id.in_(ids)
                )
            )
            return int(getattr(result, "rowcount", 0))
