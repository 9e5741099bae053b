"""`/ask`, the **Mark as helpful** message command, and `/asks open`."""

from __future__ import annotations

import contextlib

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PLNCoachBot
from bot.db import utcnow
from bot.delivery.answers import RenderedAnswer
from bot.delivery.renderers import OutgoingPost
from bot.errors import DatabaseUnavailable, NotFound, UserFacingError
from bot.services.answers import OwedAnswer
from bot.services.asks import (
    ASK_ANSWER,
    ASK_THREAD,
    HELPFUL_ANSWER,
    HELPFUL_THANKS,
    MAX_QUESTION_LENGTH,
    UNANSWERED_AFTER,
    HelpfulResult,
    OpenAsk,
    parse_ask,
)
from bot.services.outbox import PostClaim, PostStatus
from bot.services.share_input import MAX_TAGS_INPUT_LENGTH
from cogs import _cooldowns as cooldowns
from cogs._acknowledge import acknowledged_while
from cogs._shared import NO_PINGS, actor_from, answer_ticket
from cogs.request.posts import (
    ask_post,
    ask_reply,
    helpful_reply,
    open_asks_text,
    thanks_post,
)

# How long /ask waits for its thread before answering "on its way" (edited again once up).
THREAD_WAIT = 2.5


class Request(commands.Cog):
    asks = app_commands.Group(name="asks", description="Questions asked in this server.")

    def __init__(self, bot: PLNCoachBot) -> None:
        self.bot = bot
        self._mark_helpful = app_commands.ContextMenu(
            name="Mark as helpful", callback=self.mark_helpful
        )
        self._mark_helpful.guild_only = True

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self._mark_helpful)
        renderers = self.bot.renderers
        renderers.posts[ASK_THREAD] = self._render_ask_thread
        renderers.posts[HELPFUL_THANKS] = self._render_thanks
        renderers.answers[ASK_ANSWER] = self._render_ask_reply
        renderers.answers[HELPFUL_ANSWER] = self._render_helpful_reply

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self._mark_helpful.name, type=self._mark_helpful.type)
        renderers = self.bot.renderers
        renderers.posts.pop(ASK_THREAD, None)
        renderers.posts.pop(HELPFUL_THANKS, None)
        renderers.answers.pop(ASK_ANSWER, None)
        renderers.answers.pop(HELPFUL_ANSWER, None)

    @app_commands.command(
        name="ask", description="Ask the network a question; I'll tell who can help."
    )
    @app_commands.describe(
        question="Your question, with enough detail for a colleague to answer",
        tags="Up to 5 topics, separated by commas, e.g. assessment, 7th-grade (optional)",
    )
    @app_commands.guild_only()
    @cooldowns.ASK
    async def ask(
        self,
        interaction: discord.Interaction[PLNCoachBot],
        question: app_commands.Range[str, 1, MAX_QUESTION_LENGTH],
        tags: app_commands.Range[str, 1, MAX_TAGS_INPUT_LENGTH] | None = None,
    ) -> None:
        request = parse_ask(question, tags)
        actor = actor_from(interaction)
        channel = interaction.channel
        # A question asked inside a thread opens its own thread next to it.
        where = channel.parent_id if isinstance(channel, discord.Thread) else interaction.channel_id
        # Who to name is read and the ask stored while Discord hears the acknowledgement.
        storing = self.bot.services.asks.ask(
            actor,
            request,
            channel_id=where or 0,
            answer=answer_ticket(interaction),
            deliverer=self.bot.posts.worker_id,
        )
        outcome = await acknowledged_while(interaction, storing)
        async with self.bot.answers.handling(outcome.answer):
            thread: PostStatus | None = None
            if outcome.thread_claim is not None:
                self.bot.posts.submit(outcome.thread_claim, ask_post(outcome.ask))
                thread = outcome.thread_claim.on_its_way()
                thread = await self.bot.posts.wait(thread.post_id, THREAD_WAIT) or thread
            text = ask_reply(outcome.ask, thread, actor.server_id)
            await self.bot.answers.deliver(outcome.answer, RenderedAnswer(text, thread))

    async def mark_helpful(
        self, interaction: discord.Interaction[PLNCoachBot], message: discord.Message
    ) -> None:
        actor = actor_from(interaction)
        if message.author.bot or message.webhook_id is not None:
            raise UserFacingError("Only a colleague's answer can be marked helpful.")
        thread = message.channel
        if not isinstance(thread, discord.Thread):
            raise UserFacingError(helpful_reply(HelpfulResult.NOT_AN_ASK, None, None))
        await interaction.response.defer(ephemeral=True, thinking=True)
        with contextlib.suppress(DatabaseUnavailable):
            await self.bot.ingest.catch_up()
        outcome = await self.bot.services.asks.mark_helpful(
            actor,
            thread_id=thread.id,
            message_id=message.id,
            author_id=message.author.id,
            author_name=message.author.display_name,
            posted_at=message.created_at,
            answer=answer_ticket(interaction),
            deliverer=self.bot.posts.worker_id,
        )
        text = helpful_reply(outcome.result, outcome.ask, outcome.helper_id)
        if outcome.answer is None:  # nothing changed: nothing to keep
            await interaction.edit_original_response(content=text, allowed_mentions=NO_PINGS)
            return
        async with self.bot.answers.handling(outcome.answer):
            if outcome.thanks_claim is not None and outcome.ask is not None:
                assert outcome.helper_id is not None
                post = thanks_post(outcome.ask, outcome.helper_id, actor.server_id, message.id)
                self.bot.posts.submit(outcome.thanks_claim, post)
            await self.bot.answers.deliver(outcome.answer, RenderedAnswer(text))

    @asks.command(name="open", description="Questions nobody has answered yet, oldest first.")
    @app_commands.guild_only()
    async def open_asks(self, interaction: discord.Interaction[PLNCoachBot]) -> None:
        actor = actor_from(interaction)
        found = await acknowledged_while(interaction, self._open_asks(actor.server_id))
        waiting_since = (utcnow() - UNANSWERED_AFTER).timestamp()
        await interaction.edit_original_response(
            content=open_asks_text(found, actor.server_id, waiting_since),
            allowed_mentions=NO_PINGS,
        )

    async def _open_asks(self, server_id: int) -> list[OpenAsk]:
        with contextlib.suppress(DatabaseUnavailable):
            await self.bot.ingest.catch_up()  # an answer just given counts
        return await self.bot.services.asks.open_asks(server_id, limit=15)

    # -- rendering from storage ---------------------------------------------------------------

    async def _render_ask_thread(self, claim: PostClaim) -> OutgoingPost | None:
        try:
            return ask_post(await self.bot.services.asks.load(claim.server_id, claim.subject_id))
        except NotFound:
            return None

    async def _render_thanks(self, claim: PostClaim) -> OutgoingPost | None:
        try:
            ask, helper_id = await self.bot.services.asks.helpful_answer(
                claim.server_id, claim.subject_id
            )
        except NotFound:
            return None
        return thanks_post(ask, helper_id, claim.server_id, claim.subject_id)

    async def _render_ask_reply(self, answer: OwedAnswer, thread: PostStatus | None) -> str:
        ask = await self.bot.services.asks.load(answer.server_id, answer.subject_id)
        return ask_reply(ask, thread or ask.thread, answer.server_id)

    async def _render_helpful_reply(self, answer: OwedAnswer, _post: PostStatus | None) -> str:
        ask, helper_id = await self.bot.services.asks.helpful_answer(
            answer.server_id, answer.subject_id
        )
        return helpful_reply(HelpfulResult(answer.outcome), ask, helper_id)
