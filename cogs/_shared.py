"""Small helpers the cogs share for turning interactions into service arguments and back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import discord

from bot.errors import UserFacingError
from bot.services.members import Actor

if TYPE_CHECKING:
    from bot.app import PLNCoachBot

NO_PINGS = discord.AllowedMentions.none()
COACH_COLOUR = discord.Colour(0x2E8B57)


def coach_bot(interaction: discord.Interaction[Any]) -> PLNCoachBot:
    return cast("PLNCoachBot", interaction.client)


def actor_from(interaction: discord.Interaction[Any]) -> Actor:
    """The member behind an interaction, as plain values for the services."""
    guild = interaction.guild
    if guild is None:
        raise UserFacingError("This works inside a server, not in direct messages.")
    return Actor(
        server_id=guild.id,
        server_name=guild.name,
        user_id=interaction.user.id,
        display_name=interaction.user.display_name,
    )


def message_link(guild_id: int, channel_id: int, message_id: int) -> str:
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def missing_card_permissions(permissions: discord.Permissions, *, in_thread: bool) -> list[str]:
    """What the bot lacks to post an embed there; checked before trying (403s get bots banned).

    Discord reports Embed Links as missing whenever Send Messages is, so it is named only when
    it is the one thing to fix.
    """
    send = "Send Messages in Threads" if in_thread else "Send Messages"
    can_send = permissions.send_messages_in_threads if in_thread else permissions.send_messages
    missing = [
        name
        for name, granted in (("View Channel", permissions.view_channel), (send, can_send))
        if not granted
    ]
    if not missing and not permissions.embed_links:
        missing.append("Embed Links")
    return missing
