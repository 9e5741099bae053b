"""Checking the channels an admin picked: can the bot post there, and if not, what's missing?"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from bot.delivery.permissions import missing_post_permissions
from bot.errors import UserFacingError


def check_bot_can_post(
    guild: discord.Guild, channel: discord.abc.GuildChannel, *, opens_thread: bool
) -> None:
    """A friendly refusal unless the bot can post there (and open a thread on its post, when
    ``opens_thread``: in a forum, the post is the thread)."""
    resolved = guild.get_channel(channel.id)
    if not isinstance(resolved, discord.TextChannel | discord.ForumChannel):
        raise UserFacingError("I can't see that channel. Pick a channel I can read.")
    missing = missing_post_permissions(
        resolved.permissions_for(guild.me),
        in_thread=False,
        opens_thread=opens_thread and isinstance(resolved, discord.TextChannel),
    )
    if missing:
        raise UserFacingError(
            f"I can't post in {resolved.mention} yet: I'm missing {', '.join(missing)} "
            "there. Grant those to my role in the channel settings, then try again."
        )


@dataclass(frozen=True, slots=True)
class ChannelUse:
    """A channel the bot posts in, and what for ("Resource cards")."""

    label: str
    channel_id: int
    opens_thread: bool = False


@dataclass(frozen=True, slots=True)
class ChannelCheck:
    use: ChannelUse
    # What the bot lacks there, in the words of Discord's settings; empty when all is well.
    missing: tuple[str, ...]
    # False when the channel is gone or hidden from the bot.
    found: bool = True

    @property
    def ok(self) -> bool:
        return self.found and not self.missing

    def line(self) -> str:
        where = f"<#{self.use.channel_id}>"
        if not self.found:
            return f"❌ {self.use.label}: {where} is gone, or I can't see it (View Channel)"
        if self.missing:
            return f"❌ {self.use.label}: {where}, I'm missing {', '.join(self.missing)}"
        return f"✅ {self.use.label}: {where}"


async def check_channels(guild: discord.Guild, uses: list[ChannelUse]) -> list[ChannelCheck]:
    """Each channel as Discord sees it now: fetched afresh, since the cache may be what missed
    a change (the reason a post was refused while the cache said it would pass)."""
    checks: list[ChannelCheck] = []
    fresh: dict[int, discord.abc.GuildChannel | discord.Thread | None] = {}
    for use in uses:
        if use.channel_id not in fresh:
            try:
                fresh[use.channel_id] = await guild.fetch_channel(use.channel_id)
            except (discord.NotFound, discord.Forbidden):
                fresh[use.channel_id] = None
        channel = fresh[use.channel_id]
        if channel is None:
            checks.append(ChannelCheck(use, (), found=False))
            continue
        in_thread = isinstance(channel, discord.Thread)
        missing = missing_post_permissions(
            channel.permissions_for(guild.me),
            in_thread=in_thread,
            opens_thread=use.opens_thread and isinstance(channel, discord.TextChannel),
        )
        checks.append(ChannelCheck(use, tuple(missing)))
    return checks
