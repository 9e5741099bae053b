"""The delivery worker's side of paused channels: never ask Discord twice to be refused.

The database holds which channels are paused (``ChannelBlockService``); this keeps a copy in
memory so a post into a paused channel is refused without a request and without a query. The
copy is read again every minute, so a channel another process paused, or ``/pln check``
resumed there, is seen here within a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import discord

from bot.errors import DatabaseUnavailable
from bot.services.channel_blocks import ChannelBlockService
from bot.services.outbox import Refusal

log = logging.getLogger(__name__)

REFRESH_EVERY = 60.0
# Discord's codes for "you may not do that here": the ones that pause a channel.
FORBIDDEN_CODES = frozenset({50001, 50013})

PAUSED = Refusal(
    reason=(
        "posting there is paused until an admin grants my missing permission and runs `/pln check`"
    ),
    permanent=True,
    code=50013,
)


def admins_notice(guild_name: str, channel_name: str, reason: str) -> str:
    return (
        f"**PLN Coach can't post in #{discord.utils.escape_markdown(channel_name)}** on "
        f"**{discord.utils.escape_markdown(guild_name)}**: {reason}.\n"
        "I've paused posting there, so Discord doesn't count refused requests against me. "
        "Give my role the missing permission in that channel's settings, then run `/pln check` "
        "in the server to resume. (I tell you this once per channel.)"
    )


class BlockedChannels:
    def __init__(self, client: discord.Client, service: ChannelBlockService) -> None:
        self._client = client
        self._service = service
        self._blocked: set[int] = set()
        self._read_at: float | None = None

    async def refresh_if_stale(self) -> None:
        now = asyncio.get_running_loop().time()
        if self._read_at is not None and now - self._read_at < REFRESH_EVERY:
            return
        try:
            self._blocked = await self._service.all_blocked()
            self._read_at = now
        except DatabaseUnavailable:
            log.warning("Could not read the paused channels; using the last copy")

    def is_blocked(self, channel_id: int) -> bool:
        return channel_id in self._blocked

    async def refused(self, server_id: int, channel_id: int, refusal: Refusal) -> None:
        """Pause the channel if Discord (or the cache) refused a permission there."""
        if refusal.code not in FORBIDDEN_CODES:
            return
        self._blocked.add(channel_id)
        try:
            tell = await self._service.block(server_id, channel_id, refusal.reason)
        except DatabaseUnavailable:
            log.warning("Could not record channel %s as paused; paused here only", channel_id)
            return
        log.warning("Paused posting in channel %s: %s", channel_id, refusal.reason)
        if tell:
            await self._tell_admins(server_id, channel_id, refusal.reason)

    def resumed(self, channel_ids: set[int]) -> None:
        self._blocked -= channel_ids

    async def _tell_admins(self, server_id: int, channel_id: int, reason: str) -> None:
        """A direct message to the server's owner; ``/pln check`` and ``/pln settings`` show it
        too, for admins who are not the owner or whose DMs are closed.

        Not through the outbox, like nudge DMs: it is a private notice, sent at most once (the
        telling is claimed in the database before it is sent). A crash in between loses the DM,
        never the pause, which both admin commands show.
        """
        guild = self._client.get_guild(server_id)
        if guild is None or guild.owner_id is None:
            return
        channel = guild.get_channel_or_thread(channel_id)
        name = channel.name if channel is not None else str(channel_id)
        with contextlib.suppress(discord.HTTPException):
            dm = await self._client.create_dm(discord.Object(guild.owner_id))
            await dm.send(
                admins_notice(guild.name, name, reason),
                allowed_mentions=discord.AllowedMentions.none(),
            )
