"""`/progress`: a member's level in the four habits, as a card image and as text, and the
coach's next step naming real people (shown as mentions that ping nobody)."""

from __future__ import annotations

import asyncio
import contextlib
import io
from concurrent.futures import ThreadPoolExecutor

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PLNCoachBot
from bot.db import utcnow
from bot.errors import DatabaseUnavailable
from bot.habits import Level
from bot.images.progress_card import HabitCard, ProgressCard, render_progress_card
from bot.services.coach import NextStep, next_step
from bot.services.conversations import week_of
from bot.services.progress import MemberProgress
from cogs import _cooldowns as cooldowns
from cogs._acknowledge import acknowledged_while
from cogs._coach_text import step_text
from cogs._safe_text import plain
from cogs._shared import COACH_COLOUR, NO_PINGS, actor_from

# The next step names people when their lookup is quick; else the step from progress alone.
NEXT_ACTION_WAIT = 1.0
CARD_FILENAME = "progress-card.png"

LEVEL_BADGES = {
    Level.NOT_STARTED: "○ Not started",
    Level.STARTED: "◔ Started",
    Level.PRACTICING: "◑ Practicing",
    Level.HABIT: "● Habit",
}


def progress_embed(
    name: str, progress: MemberProgress, *, own: bool, step: str | None = None
) -> discord.Embed:
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
    embed.add_field(
        name="Your next step" if own else "Their next step",
        value=step or next_step(progress),
        inline=False,
    )
    embed.set_image(url=f"attachment://{CARD_FILENAME}")
    embed.set_footer(text="Only you can see this.")
    return embed


def progress_card(name: str, server_name: str, progress: MemberProgress) -> ProgressCard:
    monday = week_of(utcnow())
    return ProgressCard(
        member_name=name,
        server_name=server_name,
        week_label=f"Week of {monday:%-d %b %Y}",
        habits=tuple(HabitCard(item.habit, item.level, item.this_week) for item in progress.habits),
    )


class Progress(commands.Cog):
    def __init__(self, bot: PLNCoachBot) -> None:
        self.bot = bot
        # Cards are drawn off the event loop, one at a time: the cached fonts are not shared
        # between threads.
        self._drawing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pln-card")

    async def cog_unload(self) -> None:
        self._drawing.shutdown(wait=False)

    @app_commands.command(
        name="progress", description="See your four PLN habits, or a colleague's."
    )
    @app_commands.describe(member="Whose progress to show (you, if left empty)")
    @app_commands.guild_only()
    @cooldowns.READS
    async def progress(
        self,
        interaction: discord.Interaction[PLNCoachBot],
        member: discord.Member | None = None,
    ) -> None:
        actor = actor_from(interaction)
        subject = member or interaction.user
        own = subject.id == interaction.user.id
        if subject.bot:
            await interaction.response.send_message(
                "Bots don't build learning networks. Try a colleague instead.", ephemeral=True
            )
            return
        # Discord hears first (the database may be slow, and the member must see something);
        # the answer is read while that acknowledgement travels.
        embed, png = await acknowledged_while(
            interaction, self._answer(actor.server_id, actor.server_name, subject, own)
        )
        await interaction.edit_original_response(
            embed=embed,
            attachments=[discord.File(io.BytesIO(png), filename=CARD_FILENAME)],
            allowed_mentions=NO_PINGS,
        )

    async def _answer(
        self, server_id: int, server_name: str, subject: discord.abc.User, own: bool
    ) -> tuple[discord.Embed, bytes]:
        """The embed and the card: reads only (catching up stores signals already heard, which
        are stored whatever becomes of this command)."""
        await self.bot.ingest.catch_up()  # what they just did counts in the answer
        result = await self.bot.services.progress.progress(server_id, subject.id)
        # The card is drawn on its thread while the coach looks up the next step.
        card = progress_card(subject.display_name, server_name, result)
        drawing = asyncio.get_running_loop().run_in_executor(
            self._drawing, render_progress_card, card
        )
        step = await self._next_action(result, server_id) if own else None
        embed = progress_embed(subject.display_name, result, own=own, step=step)
        return embed, await drawing

    async def _next_action(self, progress: MemberProgress, guild_id: int) -> str | None:
        """The coach's step naming people; None (the step from progress alone) if slow."""
        step: NextStep | None = None
        with contextlib.suppress(DatabaseUnavailable, TimeoutError):
            async with asyncio.timeout(NEXT_ACTION_WAIT):
                step = await self.bot.services.coach.next_action_for(progress)
        return step_text(step, guild_id) if step is not None else None


async def setup(bot: PLNCoachBot) -> None:
    await bot.add_cog(Progress(bot))
