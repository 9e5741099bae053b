"""`/share`: contribute a link, lesson plan or tip, and get a card in the channel for it."""

from __future__ import annotations

import asyncio
import contextlib

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PLNCoachBot
from bot.delivery.answers import RenderedAnswer
from bot.delivery.renderers import OutgoingPost
from bot.errors import DatabaseUnavailable, NotFound
from bot.services.answers import OwedAnswer
from bot.services.coach import next_step
from bot.services.outbox import PostClaim, PostState, PostStatus
from bot.services.share_input import (
    MAX_NOTE_LENGTH,
    MAX_TAGS_INPUT_LENGTH,
    MAX_TITLE_LENGTH,
    MAX_URL_LENGTH,
    parse_share,
)
from bot.services.sharing import (
    SHARE_ANSWER,
    USEFUL_ANSWER,
    SharedResource,
    ShareResult,
    UsefulMark,
)
from bot.services.sharing_rows import RESOURCE_CARD
from cogs import _cooldowns as cooldowns
from cogs._acknowledge import acknowledged_while, let_requests_leave
from cogs._shared import actor_from, answer_ticket
from cogs.contribute.cards import UsefulButton, card_marker, card_view, resource_card, useful_reply
from cogs.contribute.receipts import ReceiptFacts, share_receipt
from cogs.contribute.targets import CardChannelChoice, fallback_note


def _card_post(resource: SharedResource) -> OutgoingPost:
    return OutgoingPost(
        marker=card_marker(resource.id), embed=resource_card(resource), view=card_view(resource)
    )


# How long /share waits for its card before answering "on its way" (the answer is edited again
# once the card is up): long enough for a card on the happy path, well inside patience.
CARD_WAIT = 2.5


class Contribute(commands.Cog):
    def __init__(self, bot: PLNCoachBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(UsefulButton)
        renderers = self.bot.renderers
        renderers.posts[RESOURCE_CARD] = self._render_card
        renderers.answers[SHARE_ANSWER] = self._render_receipt
        renderers.answers[USEFUL_ANSWER] = self._render_useful_reply

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(UsefulButton)
        renderers = self.bot.renderers
        renderers.posts.pop(RESOURCE_CARD, None)
        renderers.answers.pop(SHARE_ANSWER, None)
        renderers.answers.pop(USEFUL_ANSWER, None)

    @app_commands.command(
        name="share", description="Share a link, lesson plan or tip with your colleagues."
    )
    @app_commands.describe(
        url="The link to share (https://...)",
        title="A short title (optional)",
        note="What it is good for, or how you used it (optional)",
        tags="Up to 5 tags, separated by commas, e.g. math, 7th-grade (optional)",
    )
    @app_commands.guild_only()
    @cooldowns.SHARE
    async def share(
        self,
        interaction: discord.Interaction[PLNCoachBot],
        url: app_commands.Range[str, 1, MAX_URL_LENGTH],
        title: app_commands.Range[str, 1, MAX_TITLE_LENGTH] | None = None,
        note: app_commands.Range[str, 1, MAX_NOTE_LENGTH] | None = None,
        tags: app_commands.Range[str, 1, MAX_TAGS_INPUT_LENGTH] | None = None,
    ) -> None:
        # Everything is checked before anything is stored or acknowledged.
        share = parse_share(url, title, note, tags)
        actor = actor_from(interaction)
        channel_id = interaction.channel_id or 0
        card_channel = CardChannelChoice(interaction.guild, channel_id)
        # Stored while Discord hears the acknowledgement; the card goes up once it has.
        storing = self.bot.services.sharing.share(
            actor,
            channel_id,
            share,
            answer=answer_ticket(interaction),
            card_channel=card_channel,
            deliverer=self.bot.posts.worker_id,
        )
        outcome = await acknowledged_while(interaction, storing)
        # From here on the share, its card and this answer are all stored: nothing is lost.
        async with self.bot.answers.handling(outcome.answer):
            card = outcome.resource.card
            if outcome.card_claim is not None:
                self.bot.posts.submit(outcome.card_claim, _card_post(outcome.resource))
                card = outcome.card_claim.on_its_way()
            if card is not None and card.state is PostState.PENDING:
                # The next step is read while the card is on its way to Discord, not after.
                card, step = await asyncio.gather(
                    self._card_or(card, CARD_WAIT), self._next_step_after_card(outcome.answer)
                )
            else:
                step = await self._next_step(outcome.answer)
            text = self._receipt(
                outcome.answer, outcome.resource, card, card_channel.shares_channel_id, step
            )
            await self.bot.answers.deliver(outcome.answer, RenderedAnswer(text, card))

    async def _card_or(self, card: PostStatus, timeout: float) -> PostStatus:  # noqa: ASYNC109
        """The card once settled, or as it is if it takes longer than ``timeout``."""
        return await self.bot.posts.wait(card.post_id, timeout) or card

    async def _next_step_after_card(self, answer: OwedAnswer) -> str | None:
        await let_requests_leave()  # the card's, started just before this read
        return await self._next_step(answer)

    async def _next_step(self, answer: OwedAnswer) -> str | None:
        """The member's next step, or None if the database did not answer (the receipt is true
        without it)."""
        with contextlib.suppress(DatabaseUnavailable):
            progress = await self.bot.services.progress.progress(answer.server_id, answer.member_id)
            return next_step(progress)
        return None

    def _receipt(
        self,
        answer: OwedAnswer,
        resource: SharedResource,
        card: PostStatus | None,
        shares_channel_id: int | None,
        step: str | None,
    ) -> str:
        result = ShareResult(answer.outcome)
        note = None
        if card is not None and result is not ShareResult.REPEAT:  # this share placed the card
            guild = self.bot.get_guild(answer.server_id)
            note = fallback_note(guild, shares_channel_id, card.channel_id)
        return share_receipt(ReceiptFacts(answer.member_id, result, resource, card, step, note))

    # -- rendering from storage (later, or after a restart) ---------------------------------

    async def _render_card(self, claim: PostClaim) -> OutgoingPost | None:
        try:
            resource = await self.bot.services.sharing.resource(claim.server_id, claim.subject_id)
        except NotFound:
            return None
        return _card_post(resource)

    async def _render_receipt(self, answer: OwedAnswer, card: PostStatus | None) -> str:
        services = self.bot.services
        resource = await services.sharing.resource(answer.server_id, answer.subject_id)
        shares_channel_id = None
        with contextlib.suppress(DatabaseUnavailable):
            shares_channel_id = await services.server_settings.shares_channel(answer.server_id)
        step = await self._next_step(answer)
        return self._receipt(answer, resource, card, shares_channel_id, step)

    async def _render_useful_reply(self, answer: OwedAnswer, _card: PostStatus | None) -> str:
        resource = await self.bot.services.sharing.resource(answer.server_id, answer.subject_id)
        return useful_reply(UsefulMark(answer.outcome), resource.shared_by_name)
