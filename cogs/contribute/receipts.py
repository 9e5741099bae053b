"""The private answer to /share: what was recorded, where its card stands, and a next step.

Rendered from what is stored, whenever it is delivered: right after the share, again when a
card that was on its way is posted or fails, or by a restarted bot. Every sentence must stay true
whatever happened to the card.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from bot.delivery.refusals import MISSING_ACCESS, MISSING_PERMISSIONS, UNKNOWN_CHANNEL
from bot.services.outbox import PostState, PostStatus
from bot.services.sharing import SharedResource, ShareResult
from cogs._safe_text import plain
from cogs._shared import message_link
from cogs.contribute.cards import card_title


@dataclass(frozen=True)
class ReceiptFacts:
    """Everything the receipt says, read from storage (and the cache, for the note)."""

    member_id: int
    result: ShareResult
    resource: SharedResource
    card: PostStatus | None
    step: str | None
    # Something the member should know about where the card went, or None.
    note: str | None = None


def _first_line(facts: ReceiptFacts) -> str:
    resource = facts.resource
    when = discord.utils.format_dt(resource.created_at, "D")
    mine = resource.shared_by == facts.member_id
    sharer = "You" if mine else f"**{plain(resource.shared_by_name)}**"
    if facts.result is ShareResult.NEW:
        tags = " ".join(f"`#{tag}`" for tag in resource.tags) or "no tags"
        return f"**Shared!** Recorded **{card_title(resource)}** ({tags})."
    if facts.result is ShareResult.REPEAT_CARD_RETRIED:
        done = facts.card is not None and facts.card.state is PostState.POSTED
        verb = "so I posted it" if done else "so I'm trying again"
        return f"{sharer} already shared this link on {when}; its card was missing, {verb}."
    if mine:
        return f"You already shared this link on {when}."
    return (
        f"{sharer} already shared this link on {when}. I noted that you found it worth sharing too."
    )


def _what_to_do(card: PostStatus) -> str:
    if card.error_code in (MISSING_PERMISSIONS, MISSING_ACCESS):
        return (
            "An admin can fix that in the channel settings and run `/pln check`; then share "
            "the link again and I'll post its card."
        )
    if card.error_code == UNKNOWN_CHANNEL:
        return (
            "An admin can choose a channel for cards with `/pln shares-channel`; then share "
            "the link again and I'll post its card."
        )
    return "The share is saved; the problem has been logged for the bot's maintainers."


def _card_line(facts: ReceiptFacts) -> str:
    card = facts.card
    mine = facts.resource.shared_by == facts.member_id
    if card is None:
        return "Its card isn't posted yet."
    where = f"<#{card.channel_id}>"
    if card.state is PostState.POSTED and card.message_id is not None:
        link = message_link(facts.resource.server_id, card.channel_id, card.message_id)
        line = f"{'Your' if mine else 'Their'} card: {link}"
        return f"{line}\n{facts.note}" if facts.note else line
    if card.state is PostState.FAILED:
        return f"I couldn't post the card in {where}: {card.problem}. {_what_to_do(card)}"
    return (
        f"Its card is on its way to {where} (Discord paces the bot's posts there); "
        "I'll add the link here as soon as it's up."
    )


def share_receipt(facts: ReceiptFacts) -> str:
    lines = [_first_line(facts), _card_line(facts)]
    if facts.step:
        lines.append(f"**Next step:** {facts.step}")
    return "\n".join(lines)
