"""Checking a channel an admin picked before saving it: can the bot post there?"""

from __future__ import annotations

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
