"""Small helpers the cogs share for turning interactions into service arguments and back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import discord
from discord import app_commands

from bot.errors import UserFacingError
from bot.scheduling.weekly import zone_choices
from bot.services.answers import AnswerTicket
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


def answer_ticket(interaction: discord.Interaction[Any]) -> AnswerTicket:
    """What the bot needs to complete this interaction's answer later, even after a restart."""
    return AnswerTicket.for_interaction(
        application_id=interaction.application_id,
        channel_id=interaction.channel_id or 0,
        token=interaction.token,
        created_at=interaction.created_at,
        owner=coach_bot(interaction).worker_id,
    )


def zone_autocomplete(typed: str) -> list[app_commands.Choice[str]]:
    """Timezones matching what an admin typed, for any command's ``timezone`` option."""
    return [app_commands.Choice(name=zone, value=zone) for zone in zone_choices(typed)]
