"""The command tree, with the one error handler every slash command and button shares.

Whatever goes wrong, the member gets an answer they can act on (only they can see it), and
anything unexpected is logged with the command, server, user and options for whoever is on call.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import AppCommandOptionType, app_commands

from bot.errors import RepeatedInteraction, UserFacingError

if TYPE_CHECKING:
    from bot.app import PLNCoachBot

log = logging.getLogger(__name__)

UNEXPECTED = (
    "Sorry, something went wrong on my side. Nothing you did caused it, and it has been logged. "
    "Please try again in a minute."
)


def _permission_names(permissions: list[str]) -> str:
    return ", ".join(
        f"**{name.replace('_', ' ').replace('guild', 'server').title()}**" for name in permissions
    )


def _raised(error: BaseException) -> BaseException:
    """What the command itself raised (discord.py wraps it in CommandInvokeError)."""
    return error.original if isinstance(error, app_commands.CommandInvokeError) else error


def friendly_message(error: BaseException) -> str | None:
    """The member-facing text for errors we expect; None for the unexpected ones."""
    original = _raised(error)
    if isinstance(original, UserFacingError):
        return original.message
    if isinstance(error, app_commands.MissingPermissions):
        return f"You need {_permission_names(error.missing_permissions)} to do that."
    if isinstance(error, app_commands.BotMissingPermissions):
        return (
            f"I need {_permission_names(error.missing_permissions)} here to do that. "
            "A server admin can grant it in the channel or role settings."
        )
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works inside a server, not in direct messages."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"One moment: you can use this again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.TransformerError):
        if error.type in (AppCommandOptionType.user, AppCommandOptionType.mentionable):
            return "I can't find that member in this server; they may have left."
        return f"I couldn't understand `{error.value}`. Please check that option and try again."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    if isinstance(original, discord.Forbidden):
        return (
            "Discord refused me a permission I need for that. A server admin can check my role's "
            "permissions in this channel."
        )
    return None


async def answer_privately(interaction: discord.Interaction[Any], message: str) -> None:
    """Answer ephemerally whether or not the interaction was already acknowledged."""
    mentions = discord.AllowedMentions.none()
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(
                message, ephemeral=True, allowed_mentions=mentions
            )
        elif interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
            await interaction.edit_original_response(content=message, allowed_mentions=mentions)
        else:
            await interaction.followup.send(message, ephemeral=True, allowed_mentions=mentions)
    except discord.HTTPException:
        log.warning("Could not deliver an error message for interaction %s", interaction.id)


async def report_error(
    interaction: discord.Interaction[Any], error: BaseException, *, action: str
) -> None:
    """Tell the member what went wrong; log what nobody expected, with its context."""
    if isinstance(_raised(error), RepeatedInteraction):
        log.info("%s: interaction %s came again; its first copy answers", action, interaction.id)
        return
    message = friendly_message(error)
    if message is None:
        log.error(
            "%s failed (guild=%s channel=%s user=%s options=%s)",
            action,
            interaction.guild_id,
            interaction.channel_id,
            interaction.user.id,
            dict(iter(interaction.namespace)),  # Namespace itself fakes a .keys()
            exc_info=error,
        )
        message = UNEXPECTED
    else:
        log.debug("%s refused: %s", action, message)
    await answer_privately(interaction, message)


class CoachCommandTree(app_commands.CommandTree["PLNCoachBot"]):
    async def on_error(
        self, interaction: discord.Interaction[PLNCoachBot], error: app_commands.AppCommandError
    ) -> None:
        command = interaction.command.qualified_name if interaction.command else "?"
        await report_error(interaction, error, action=f"Command /{command}")
