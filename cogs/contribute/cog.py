"""`/share`: contribute a link, lesson plan or tip, and get a card in the channel for it."""

from __future__ import annotations

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
from bot.services.sharing import SharedResource, ShareOutcome
from cogs._shared import NO_PINGS, actor_from, message_link, missing_send_permissions
from cogs.contribute.cards import UsefulButton, card_title, card_view, resource_card

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
        card_problem = None
        if outcome.is_new:
            resource, card_problem = await self._post_card(interaction, outcome)
            outcome = replace(outcome, resource=resource)
        progress = await self.bot.services.progress.progress(actor.server_id, actor.user_id)
        await interaction.edit_original_response(
            content=receipt(interaction, outcome, card_problem, next_step(progress)),
            allowed_mentions=NO_PINGS,
        )

    async def _post_card(
        self, interaction: discord.Interaction[PLNCoachBot], outcome: ShareOutcome
    ) -> tuple[SharedResource, str | None]:
        """Post the card; returns the resource and what went wrong, in words for the member."""
        resource = outcome.resource
        guild = interaction.guild
        assert guild is not None
        channel = guild.get_channel_or_thread(outcome.card_channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            return resource, (
                "I couldn't post a card because the shares channel no longer exists. "
                "An admin can choose a new one with `/pln shares-channel`."
            )
        missing = missing_send_permissions(channel)
        if missing:
            return resource, (
                f"I couldn't post the card in {channel.mention}: I'm missing "
                f"{', '.join(missing)} there. An admin can fix that in the channel settings."
            )
        try:
            message = await channel.send(
                embed=resource_card(resource), view=card_view(resource), allowed_mentions=NO_PINGS
            )
        except discord.HTTPException as error:
            log.warning("Could not post resource card %s in %s: %s", resource.id, channel.id, error)
            return resource, f"I couldn't post the card in {channel.mention} ({error.text})."
        await self.bot.services.sharing.attach_card(resource.id, channel.id, message.id)
        return replace(resource, card_channel_id=channel.id, card_message_id=message.id), None


def receipt(
    interaction: discord.Interaction[PLNCoachBot],
    outcome: ShareOutcome,
    card_problem: str | None,
    step: str,
) -> str:
    """The private answer to the sharer: what was recorded, where to find it, what to do next."""
    resource = outcome.resource
    link = None
    if resource.card_message_id and resource.card_channel_id and interaction.guild_id:
        link = message_link(
            interaction.guild_id, resource.card_channel_id, resource.card_message_id
        )
    when = discord.utils.format_dt(resource.created_at, "D")
    tags = " ".join(f"`#{tag}`" for tag in resource.tags) or "no tags"
    lines: list[str]
    if outcome.is_new:
        lines = [f"**Shared!** Recorded **{card_title(resource)}** ({tags})."]
        lines.append(card_problem or f"Your card: {link}")
    elif resource.shared_by == interaction.user.id:
        lines = [f"You already shared this link on {when}, so there's no second card."]
        if link:
            lines.append(f"Your card: {link}")
    else:
        lines = [
            f"**{resource.shared_by_name}** already shared this link on {when}, so I didn't post "
            "it twice. I noted that you found it worth sharing too."
        ]
        if link:
            lines.append(f"Their card: {link}")
    lines.append(f"**Next step:** {step}")
    return "\n".join(lines)
