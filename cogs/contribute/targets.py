"""Where a resource card goes, and what the bot may do there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import discord

THREAD_TYPES = (
    discord.ChannelType.public_thread,
    discord.ChannelType.private_thread,
    discord.ChannelType.news_thread,
)


@dataclass(frozen=True)
class CardTarget:
    channel: discord.abc.Messageable
    mention: str
    permissions: discord.Permissions
    in_thread: bool
    # Something the member should know about where the card went, or None.
    note: str | None = None


def card_target(interaction: discord.Interaction[Any], card_channel_id: int) -> CardTarget | None:
    """The configured shares channel, else the channel /share was used in.

    For the current channel, Discord tells us the bot's permissions in the interaction itself
    (``app_permissions``), which also covers threads and voice channels' text chat that are not
    in the cache.
    """
    guild = interaction.guild
    current = interaction.channel
    note = None
    if guild is not None and card_channel_id != interaction.channel_id:
        configured = guild.get_channel_or_thread(card_channel_id)
        if isinstance(configured, discord.abc.Messageable) and not isinstance(
            configured, discord.ForumChannel | discord.CategoryChannel
        ):
            return CardTarget(
                channel=configured,
                mention=configured.mention,
                permissions=configured.permissions_for(guild.me),
                in_thread=isinstance(configured, discord.Thread),
            )
        note = (
            "The shares channel no longer exists, so I posted the card here. An admin can "
            "choose a new one with `/pln shares-channel`."
        )
    if current is None or not isinstance(current, discord.abc.Messageable):
        return None
    return CardTarget(
        channel=current,
        mention=f"<#{current.id}>",
        permissions=interaction.app_permissions,
        in_thread=getattr(current, "type", None) in THREAD_TYPES,
        note=note,
    )
