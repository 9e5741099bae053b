"""`/converse`: the conversations worth picking up, with a jump link, and a starter."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PLNCoachBot
from bot.db import utcnow
from bot.services.converse import FollowUp, FollowUpKind, conversation_starter
from cogs import _cooldowns as cooldowns
from cogs._acknowledge import acknowledged_while
from cogs._shared import NO_PINGS, actor_from, message_link


def follow_up_line(item: FollowUp, guild_id: int) -> str:
    when = discord.utils.format_dt(item.at, "R")
    who = f"<@{item.partner_id}>"
    if item.kind is FollowUpKind.WAITING:
        line = f"{who} replied to you {when} — keep it going."
    else:
        weeks = "a week" if item.conversation_weeks == 1 else f"{item.conversation_weeks} weeks"
        line = f"You and {who} talked in {weeks}; quiet since {when} — check in."
    if item.channel_id is not None and item.message_id is not None:
        line += (
            f" [Jump to the message]({message_link(guild_id, item.channel_id, item.message_id)})"
        )
    return line


def converse_text(items: list[FollowUp], guild_id: int, starter: str) -> str:
    if items:
        lines = ["**Conversations worth continuing**"]
        lines += [f"• {follow_up_line(item, guild_id)}" for item in items]
    else:
        lines = [
            "No conversation is waiting on you right now. Reply to a colleague's post: when "
            "they answer, it shows up here."
        ]
    lines.append(f"\n**A conversation starter:** {starter}")
    return "\n".join(lines)


class Converse(commands.Cog):
    def __init__(self, bot: PLNCoachBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="converse", description="Conversations worth continuing, and a starter to use."
    )
    @app_commands.guild_only()
    @cooldowns.READS
    async def converse(self, interaction: discord.Interaction[PLNCoachBot]) -> None:
        actor = actor_from(interaction)
        items = await acknowledged_while(
            interaction, self._worth_continuing(actor.server_id, actor.user_id)
        )
        starter = conversation_starter(actor.user_id, utcnow())
        await interaction.edit_original_response(
            content=converse_text(items, actor.server_id, starter), allowed_mentions=NO_PINGS
        )

    async def _worth_continuing(self, server_id: int, user_id: int) -> list[FollowUp]:
        await self.bot.ingest.catch_up()  # a reply just sent counts
        return await self.bot.services.converse.worth_continuing(server_id, user_id)


async def setup(bot: PLNCoachBot) -> None:
    await bot.add_cog(Converse(bot))
