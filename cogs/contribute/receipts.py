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
    return "Its card is being posted right now."


def share_receipt(
    interaction: discord.Interaction[Any],
    outcome: ShareOutcome,
    card: CardResult,
    step: str,
) -> str:
    resource = card.resource
    when = discord.utils.format_dt(resource.created_at, "D")
    if outcome.is_new:
        tags = " ".join(f"`#{tag}`" for tag in resource.tags) or "no tags"
        lines = [
            f"**Shared!** Recorded **{card_title(resource)}** ({tags}).",
            _card_line(interaction, card, "Your"),
        ]
    elif resource.shared_by == interaction.user.id:
        lines = [f"You already shared this link on {when}, so there's no second card."]
        if card.posted_now:
            lines = [
                f"You already shared this link on {when}; its card was missing, so I posted it now."
            ]
        lines.append(_card_line(interaction, card, "Your"))
    else:
        lines = [
            f"**{resource.shared_by_name}** already shared this link on {when}, so I didn't post "
            "it twice. I noted that you found it worth sharing too."
        ]
        lines.append(_card_line(interaction, card, "Their"))
    lines.append(f"**Next step:** {step}")
    return "\n".join(lines)
