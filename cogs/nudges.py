"""`/nudges on|off`, and the nudges themselves: opt-in DMs, at most one a day.

Two nudges: a personal digest when a week's challenge is posted (the challenge and the member's
next step), and "your question has no answer yet" 48 h after an ask nobody answered, naming
the members likely to help. A member whose DMs are closed (Discord's 50007) is switched off
quietly: one log line, no retries.

A DM is private, not a channel post, so it does not go through the outbox: it is sent at most
once. Its day's row is stored before it is sent, so a crash in between loses that nudge rather
than risking a second DM to the same person; a lost reminder costs less than a repeated one.
"""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PLNCoachBot
from bot.challenges.schedules import PostKind
from bot.challenges.weekly_posts import Decision
from bot.services.nudges import NudgeKind, UnansweredAsk
from cogs._coach_text import step_text
from cogs._safe_text import plain
from cogs._shared import NO_PINGS, actor_from

log = logging.getLogger(__name__)

CANNOT_DM = 50007
DM_TIMEOUT = 15.0


class Nudges(commands.GroupCog, group_name="nudges", group_description="Personal nudges by DM."):
    def __init__(self, bot: PLNCoachBot) -> None:
        self.bot = bot
        # Servers whose week's challenge was decided, waiting for their digests: one worker
        # sends them in turn (a fan-out to thousands of servers must not open a database
        # session per server at once).
        self._digest_queue: asyncio.Queue[int] = asyncio.Queue()
        self._digest_worker: asyncio.Task[None] | None = None
        super().__init__()

    async def cog_load(self) -> None:
        weekly = self.bot.weekly_hooks
        weekly.on_decided(self._after_decisions)
        weekly.every_hour(self._unanswered_asks)

    async def cog_unload(self) -> None:
        if self._digest_worker is not None:
            self._digest_worker.cancel()

    @app_commands.command(name="on", description="Get a weekly digest and reminders by DM.")
    @app_commands.guild_only()
    async def nudges_on(self, interaction: discord.Interaction[PLNCoachBot]) -> None:
        actor = actor_from(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.bot.services.nudges.choose(actor, nudges=True)
        await interaction.edit_original_response(
            content=(
                "Done: I'll DM you a short digest when each week's challenge is posted, and a "
                "reminder if a question of yours waits two days for an answer. At most one DM "
                "a day; `/nudges off` stops them. (Your DMs must be open to this server's "
                "members.)"
            )
        )

    @app_commands.command(name="off", description="Stop DM nudges.")
    @app_commands.guild_only()
    async def nudges_off(self, interaction: discord.Interaction[PLNCoachBot]) -> None:
        actor = actor_from(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.bot.services.nudges.choose(actor, nudges=False)
        await interaction.edit_original_response(content="Done: no more DM nudges from me.")

    # -- sending ------------------------------------------------------------------------------

    async def _after_decisions(self, decisions: list[Decision]) -> None:
        decided = [
            decision.server_id
            for decision in decisions
            if decision.kind is PostKind.CHALLENGE and decision.post_id is not None
        ]
        if not decided:
            return
        for server_id in await self.bot.services.nudges.servers_with_subscribers(decided):
            self._digest_queue.put_nowait(server_id)
        if self._digest_worker is None or self._digest_worker.done():
            self._digest_worker = asyncio.create_task(self._send_digests(), name="pln-digests")

    async def _send_digests(self) -> None:
        while not self._digest_queue.empty():
            server_id = self._digest_queue.get_nowait()
            try:
                await self._digests(server_id)
            except Exception:
                log.exception("Weekly digests for server %s failed", server_id)

    async def _digests(self, server_id: int) -> None:
        services = self.bot.services
        challenge = await services.completions.current(server_id)
        if challenge is None:
            return
        guild = self.bot.get_guild(server_id)
        where = plain(guild.name) if guild is not None else "your server"
        for user_id in await services.nudges.subscribers(server_id):
            if not await services.nudges.claim(server_id, user_id, NudgeKind.DIGEST, challenge.id):
                continue
            progress = await services.progress.progress(server_id, user_id)
            step = await services.coach.next_action_for(progress)
            text = (
                f"**This week in {where}** · {challenge.habit.display_name}: "
                f"{plain(challenge.title)}\n{plain(challenge.text)}\n\n"
                f"**Your next step:** {step_text(step, server_id, names=True)}\n"
                "-# You get this because you turned on `/nudges`; `/nudges off` stops it."
            )
            await self._send(user_id, text)

    async def _unanswered_asks(self) -> None:
        services = self.bot.services
        await services.nudges.forget_old()
        owned = [guild.id for guild in self.bot.guilds]
        for ask in await services.nudges.unanswered_asks(owned):
            if not await services.nudges.claim(
                ask.server_id, ask.asker_id, NudgeKind.UNANSWERED_ASK, ask.ask_id
            ):
                continue
            await self._send(ask.asker_id, await self._unanswered_text(ask))

    async def _unanswered_text(self, ask: UnansweredAsk) -> str:
        helpers = await self.bot.services.nudges.helper_names(ask.server_id, ask.ask_id)
        question = plain(ask.question, limit=120)
        lines = [f"Your question “{question}” has no answer yet after two days."]
        if helpers:
            names = ", ".join(f"**{plain(name)}**" for name in helpers)
            lines.append(
                f"{names} know the topic: mention them in the thread, or add a detail that "
                "makes it easier to answer."
            )
        else:
            lines.append(
                "Add a detail or a tag to your question: it helps the right people find it."
            )
        lines.append("-# `/nudges off` stops these reminders.")
        return "\n".join(lines)

    async def _send(self, user_id: int, text: str) -> None:
        try:
            user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
            await asyncio.wait_for(user.send(text, allowed_mentions=NO_PINGS), DM_TIMEOUT)
        except discord.Forbidden as error:
            if error.code == CANNOT_DM:
                stopped = await self.bot.services.nudges.stop_for_closed_dms(user_id)
                log.info("DMs to user %s are closed; nudges switched off (%d)", user_id, stopped)
                return
            log.warning("Nudge to user %s refused: %s", user_id, error)
        except (discord.HTTPException, TimeoutError) as error:
            log.warning("Nudge to user %s not sent: %r", user_id, error)


async def setup(bot: PLNCoachBot) -> None:
    await bot.add_cog(Nudges(bot))
