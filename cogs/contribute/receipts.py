"""The private answer to /share: what was recorded, where its card is, and a next step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import discord

from bot.services.sharing import SharedResource, ShareOutcome
from cogs._shared import message_link
from cogs.contribute.cards import card_title


@dataclass(frozen=True)
class CardResult:
    """What happened to the card during this command."""

    resource: SharedResource
    posted_now: bool = False
    problem: str | None = None
    note: str | None = None


def _card_line(interaction: discord.Interaction[Any], card: CardResult, whose: str) -> str:
    resource = card.resource
    if card.problem:
        return card.problem
    if resource.card_message_id and resource.card_channel_id and interaction.guild_id:
        link = message_link(
            interaction.guild_id, resource.card_channel_id, resource.card_message_id
        )
        line = f"{whose} card: {link}"
        return f"{line}\n{card.note}" if card.note else line
    return "Its card isn't posted yet. If it doesn't appear within a minute, share the link again."


def share_receipt(
    interaction: discord.Interaction[Any],
    outcome: ShareOutcome,
    card: CardResult,
    step: str,
) -> str:
    """Every sentence here must stay true whatever happened to the card."""
    resource = card.resource
    when = discord.utils.format_dt(resource.created_at, "D")
    mine = resource.shared_by == interaction.user.id
    sharer = "You" if mine else f"**{resource.shared_by_name}**"
    if outcome.is_new:
        tags = " ".join(f"`#{tag}`" for tag in resource.tags) or "no tags"
        first = f"**Shared!** Recorded **{card_title(resource)}** ({tags})."
    elif card.posted_now:
        first = (
            f"{sharer} already shared this link on {when}; its card was missing, so I posted it."
        )
    elif mine:
        first = f"You already shared this link on {when}."
    else:
        first = (
            f"{sharer} already shared this link on {when}. "
            "I noted that you found it worth sharing too."
        )
    lines = [first, _card_line(interaction, card, "Your" if mine else "Their")]
    lines.append(f"**Next step:** {step}")
    return "\n".join(lines)
