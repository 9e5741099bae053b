"""`/connect intro` and `/connect suggest`, and welcomes when the members intent is on."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import discord
from cachetools import TTLCache
from discord import app_commands
from discord.ext import commands

from bot.app import PLNCoachBot
from bot.delivery.permissions import missing_post_permissions
from bot.delivery.renderers import OutgoingPost
from bot.errors import DatabaseUnavailable, NotFound
from bot.services.answers import OwedAnswer
from bot.services.introductions import (
    INTRO_ANSWER,
    INTRO_CARD,
    WELCOME_POST,
    IntroResult,
)
from bot.services.outbox import PostClaim, PostStatus
from bot.services.suggestions import Suggestion
from cogs import _cooldowns as cooldowns
from cogs._acknowledge import acknowledged_while
from cogs._safe_text import plain
from cogs._shared import NO_PINGS, actor_from
from cogs.connect.cards import IntroduceButton, introduce_view, welcome_card, welcome_marker
from cogs.connect.intro_form import (
    handle_submission,
    intro_post,
    intro_reply,
    is_intro_submission,
    open_intro_form,
)

log = logging.getLogger(__name__)

SUGGESTIONS = 3
# Ask for a few more than shown: some may turn out to have left, or to be bots.
CANDIDATES = 6
MEMBER_CHECK_WAIT = 2.0
# A member found in the server is not looked up again for this long. Each lookup counts toward
# Discord's 50 requests a second (six per /connect suggest, paced by the bot), and without the
# members intent a lookup is the only way to learn someone left: a member who left in the last
# ten minutes may be suggested once more, and is dropped at the next lookup.
STILL_HERE_FOR = 600.0
REMEMBERED_MEMBERS = 50_000


class Connect(commands.GroupCog, group_name="connect", group_description="Reach out to people."):
    def __init__(self, bot: PLNCoachBot) -> None:
        self.bot = bot
        # (server, member) pairs seen in their server lately, as real members (not bots).
        self._seen_here: TTLCache[tuple[int, int], bool] = TTLCache(
            REMEMBERED_MEMBERS, STILL_HERE_FOR
        )
        self._submissions: set[asyncio.Task[None]] = set()
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.observe("interaction", self._on_interaction)
        self.bot.add_dynamic_items(IntroduceButton)
        self.bot.renderers.posts[INTRO_CARD] = self._render_intro_card
        self.bot.renderers.posts[WELCOME_POST] = self._render_welcome
        self.bot.renderers.answers[INTRO_ANSWER] = self._render_intro_reply

    async def cog_unload(self) -> None:
        self.bot.forget_observer("interaction", self._on_interaction)
        self.bot.remove_dynamic_items(IntroduceButton)
        self.bot.renderers.posts.pop(INTRO_CARD, None)
        self.bot.renderers.posts.pop(WELCOME_POST, None)
        self.bot.renderers.answers.pop(INTRO_ANSWER, None)

    @app_commands.command(
        name="intro", description="Introduce yourself: what you teach, and what you want to learn."
    )
    @app_commands.guild_only()
    @cooldowns.INTRO
    async def intro(self, interaction: discord.Interaction[PLNCoachBot]) -> None:
        await open_intro_form(interaction)

    @app_commands.command(
        name="suggest", description="Three colleagues worth reaching out to, and why."
    )
    @app_commands.guild_only()
    @cooldowns.READS
    async def suggest(self, interaction: discord.Interaction[PLNCoachBot]) -> None:
        actor = actor_from(interaction)
        # Read while Discord hears the acknowledgement.
        found = await acknowledged_while(
            interaction,
            self.bot.services.suggestions.suggest(actor.server_id, actor.user_id, count=CANDIDATES),
        )
        present = await self._still_here(interaction.guild, found)
        await interaction.edit_original_response(
            content=suggestions_text(present[:SUGGESTIONS]), allowed_mentions=NO_PINGS
        )

    @app_commands.command(
        name="helper", description="Offer help with a topic: /ask will notify you about it."
    )
    @app_commands.describe(
        tag="A topic you can help with, e.g. assessment", help="on to offer help, off to stop"
    )
    @app_commands.choices(
        help=[
            app_commands.Choice(name="on", value="on"),
            app_commands.Choice(name="off", value="off"),
        ]
    )
    @app_commands.guild_only()
    async def helper(
        self,
        interaction: discord.Interaction[PLNCoachBot],
        tag: app_commands.Range[str, 1, 40],
        help: app_commands.Choice[str],  # the option's name in Discord
    ) -> None:
        actor = actor_from(interaction)
        helping = help.value == "on"
        await interaction.response.defer(ephemeral=True, thinking=True)
        tags = await self.bot.services.introductions.set_helper(actor, tag, helping=helping)
        if helping:
            first = f"Thanks! Questions tagged {plain(tag.strip())} will name you, with a ping."
        else:
            first = f"Done: questions tagged {plain(tag.strip())} won't ping you any more."
        listed = ", ".join(plain(t) for t in tags) if tags else "nothing yet"
        await interaction.edit_original_response(
            content=f"{first}\nYou offer help with: {listed}.", allowed_mentions=NO_PINGS
        )

    async def _still_here(
        self, guild: discord.Guild | None, found: list[Suggestion]
    ) -> list[Suggestion]:
        """Drop members who left (and remember it) or turn out to be bots.

        Without the members intent the bot hears of nobody leaving, so each candidate the cache
        does not know is looked up; a lookup that is slow counts as "still here".
        """
        if guild is None or not found:
            return found
        # Known from the cache (the usual case): no lookup, and no task to wait for.
        known: dict[int, bool] = {}
        for suggestion in found:
            key = (guild.id, suggestion.user_id)
            if key in self._seen_here:
                known[suggestion.user_id] = True
                continue
            member = guild.get_member(suggestion.user_id)
            if member is not None:
                known[suggestion.user_id] = not member.bot
                if not member.bot:
                    self._seen_here[key] = True

        async def here(suggestion: Suggestion) -> bool:
            try:
                member = await guild.fetch_member(suggestion.user_id)
            except discord.NotFound:
                with contextlib.suppress(DatabaseUnavailable):
                    await self.bot.services.introductions.left(guild.id, suggestion.user_id)
                return False
            except discord.HTTPException:
                return True
            if member.bot:
                return False
            self._seen_here[(guild.id, suggestion.user_id)] = True
            return True

        unknown = [s for s in found if s.user_id not in known]
        if unknown:
            try:
                checks = await asyncio.wait_for(
                    asyncio.gather(*(here(s) for s in unknown)), MEMBER_CHECK_WAIT
                )
            except TimeoutError:
                return found
            known.update((s.user_id, ok) for s, ok in zip(unknown, checks, strict=True))
        return [s for s in found if known[s.user_id]]

    def _on_interaction(self, interaction: discord.Interaction[PLNCoachBot]) -> None:
        """Intro forms sent, including forms opened before a restart.

        Observed, not a listener: discord.py starts a task per listener for every interaction,
        and all but the forms would have done nothing in it.
        """
        if is_intro_submission(interaction):
            task = asyncio.create_task(self._handle_submission(interaction))
            self._submissions.add(task)
            task.add_done_callback(self._submissions.discard)

    @staticmethod
    async def _handle_submission(interaction: discord.Interaction[PLNCoachBot]) -> None:
        try:
            await handle_submission(interaction)
        except Exception:  # as discord.py's listener task would have logged it
            log.exception("Handling an intro form failed")

    # -- welcomes (only with the members intent) --------------------------------------------

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        if member.bot:
            return
        system = member.guild.system_channel
        fallback = None
        if system is not None and not missing_post_permissions(
            system.permissions_for(member.guild.me), in_thread=False
        ):
            fallback = system.id
        try:
            post_id = await self.bot.services.introductions.welcome(
                member.guild.id,
                member.guild.name,
                member.id,
                member.display_name,
                fallback_channel_id=fallback,
            )
        except DatabaseUnavailable:
            log.warning("Could not owe a welcome to %s in %s", member.id, member.guild.id)
            return
        if post_id is not None:
            self.bot.posts.wake()

    @commands.Cog.listener()
    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        with contextlib.suppress(DatabaseUnavailable):
            await self.bot.services.introductions.left(payload.guild_id, payload.user.id)

    # -- rendering from storage ---------------------------------------------------------------

    async def _render_intro_card(self, claim: PostClaim) -> OutgoingPost | None:
        try:
            intro = await self.bot.services.introductions.intro(claim.server_id, claim.subject_id)
        except NotFound:
            return None
        return intro_post(intro)

    async def _render_welcome(self, claim: PostClaim) -> OutgoingPost | None:
        guild = self.bot.get_guild(claim.server_id)
        name = guild.name if guild is not None else "the server"
        return OutgoingPost(
            marker=welcome_marker(claim.subject_id),
            embed=welcome_card(claim.subject_id, name),
            view=introduce_view("welcome", claim.subject_id),
        )

    async def _render_intro_reply(self, answer: OwedAnswer, card: PostStatus | None) -> str:
        return intro_reply(IntroResult(answer.outcome), card, answer.server_id)


def suggestions_text(suggestions: list[Suggestion]) -> str:
    if not suggestions:
        return (
            "I don't know enough colleagues here yet to suggest anyone. Reply to or react to a "
            "few posts, and introduce yourself with `/connect intro`: suggestions get better "
            "as the server gets to know you."
        )
    lines = ["**Colleagues worth reaching out to**"]
    for number, suggestion in enumerate(suggestions, start=1):
        why = plain("; ".join(suggestion.reasons))
        lines.append(f"{number}. <@{suggestion.user_id}> — {why}")
    lines.append(
        "Say hi: reply to something they posted, or mention them where you both are. "
        "People you haven't met yet are the ones who widen your network."
    )
    return "\n".join(lines)
