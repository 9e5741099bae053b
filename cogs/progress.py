"""`/progress`: a member's level in the four habits and the coach's next step."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PLNCoachBot
from bot.habits import Level
from bot.services.coach import next_step
from bot.services.progress import MemberProgress
from cogs._safe_text import plain
from cogs._shared import COACH_COLOUR, NO_PINGS, actor_from

LEVEL_BADGES = {
    Level.NOT_STARTED: "○ Not started",
    Level.STARTED: "◔ Started",
    Level.PRACTICING: "◑ Practicing",
    Level.HABIT: "● Habit",
}


def progress_embed(name: str, progress: MemberProgress, *, own: bool) -> discord.Embed:
    embed = discord.Embed(
        title=f"{plain(name)}'s learning network",
        description="Four habits grow a network, in this order: connect, contribute, "
        "converse, request.",
        colour=COACH_COLOUR,
    )
    for number, item in enumerate(progress.habits, start=1):
        lines = [item.summary]
        if item.next_milestone:
            lines.append(f"Next: {item.next_milestone}")
        embed.add_field(
            name=f"{number}. {item.habit.display_name} — {LEVEL_BADGES[item.level]}",
            value="\n".join(lines),
            inline=False,
        )
    step = next_step(progress)
    embed.add_field(name="Your next step" if own else "Their next step", value=step, inline=False)
    embed.set_footer(text="Only you can see this.")
    return embed


class Progress(commands.Cog):
    def __init__(self, bot: PLNCoachBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="progress", description="See your four PLN habits, or a colleague's."
    )
    @app_commands.describe(member="Whose progress to show (you, if left empty)")
    @app_commands.guild_only()
    async def progress(
        self,
        interaction: discord.Interaction[PLNCoachBot],
        member: discord.Member | None = None,
    ) -> None:
        actor = actor_from(interaction)
        subject = member or interaction.user
        if subject.bot:
            await interaction.response.send_message(
                "Bots don't build learning networks. Try a colleague instead.", ephemeral=True
            )
            return
        # Answer Discord first: the database may be slow, and the member must see something.
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.bot.ingest.catch_up()  # what they just did counts in the answer
        result = await self.bot.services.progress.progress(actor.server_id, subject.id)
        embed = progress_embed(subject.display_name, result, own=subject.id == interaction.user.id)
        await interaction.edit_original_response(embed=embed, allowed_mentions=NO_PINGS)


async def setup(bot: PLNCoachBot) -> None:
    await bot.add_cog(Progress(bot))
