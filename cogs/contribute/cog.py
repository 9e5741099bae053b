"""`/share`: contribute a link, lesson plan or tip, and get a card in the channel for it."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PLNCoachBot
from bot.services.coach import next_step
from bot.services.share_input import (
    MAX_NOTE_LENGTH,
    MAX_TAGS_INPUT_LENGTH,
    MAX_TITLE_LENGTH,
    MAX_URL_LENGTH,
    parse_share,
)
from bot.services.sharing import CardClaim, CardLocation, ShareOutcome
from cogs._shared import NO_PINGS, actor_from, missing_card_permissions
from cogs.contribute.cards import UsefulButton, card_view, resource_card
from cogs.contribute.receipts import CardResult, share_receipt
from cogs.contribute.targets import card_target

log = logging.getLogger(__name__)


class Contribute(commands.Cog):
    def __init__(self, bot: PLNCoachBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(UsefulButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(UsefulButton)

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
        await interaction.response.defer(ephemeral=True, thinking=True)
        outcome = await self.bot.services.sharing.share(actor, interaction.channel_id or 0, share)
        card = CardResult(resource=outcome.resource)
        if outcome.card_claim is not None:
            card = await self._post_card(interaction, outcome, outcome.card_claim)
        progress = await self.bot.services.progress.progress(actor.server_id, actor.user_id)
        await interaction.edit_original_response(
            content=share_receipt(interaction, outcome, card, next_step(progress)),
            allowed_mentions=NO_PINGS,
        )

    async def _post_card(
        self,
        interaction: discord.Interaction[PLNCoachBot],
        outcome: ShareOutcome,
        claim: CardClaim,
    ) -> CardResult:
        """Post the card this command has claimed; if nothing was posted, give the claim back."""
        sharing = self.bot.services.sharing
        resource = outcome.resource
        message: discord.Message | None = None
        try:
            target = card_target(interaction, outcome.card_channel_id)
            if target is None:
                return CardResult(resource, problem="I couldn't find a channel for the card.")
            missing = missing_card_permissions(target.permissions, in_thread=target.in_thread)
            if missing:
                return CardResult(
                    resource,
                    problem=f"I couldn't post the card in {target.mention}: I'm missing "
                    f"{', '.join(missing)} there. An admin can fix that in the channel settings; "
                    f"then share the link again and I'll post its card.",
                )
            try:
                message = await target.channel.send(
                    embed=resource_card(resource),
                    view=card_view(resource),
                    allowed_mentions=NO_PINGS,
                )
            except discord.HTTPException as error:
                log.warning("Could not post card %s in %s: %s", resource.id, target.mention, error)
                return CardResult(
                    resource,
                    problem=f"I couldn't post the card in {target.mention} ({error.text}). "
                    "Share the link again later and I'll try once more.",
                )
        finally:
            if message is None:
                await sharing.release_card(claim)
        posted = CardLocation(message.channel.id, message.id)
        try:
            recorded = await sharing.attach_card(claim, posted)
        except Exception:  # the card is up; only remembering it failed. The lease stops reposts.
            log.exception("Card %s posted as message %s but not recorded", resource.id, message.id)
            recorded = posted
        if recorded != posted:  # another command's card for this link was recorded first
            with contextlib.suppress(discord.HTTPException):
                await message.delete()
        return CardResult(
            replace(
                resource,
                card_channel_id=recorded.channel_id,
                card_message_id=recorded.message_id,
            ),
            posted_now=recorded == posted,
            note=target.note,
        )
