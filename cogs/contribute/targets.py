"""Where a resource card goes: the server's shares channel, else where /share was used."""

from __future__ import annotations

import discord


def usable_for_cards(guild: discord.Guild | None, channel_id: int) -> bool:
    """A channel (or thread) the bot knows and could post a message in: not a forum or category."""
    channel = guild.get_channel_or_thread(channel_id) if guild is not None else None
    return isinstance(channel, discord.abc.Messageable) and not isinstance(
        channel, discord.ForumChannel | discord.CategoryChannel
    )


class CardChannelChoice:
    """Picks the card's channel from the shares channel setting read with the share.

    Remembers the setting it saw, so the answer can say why a card is not where an admin chose.
    """

    def __init__(self, guild: discord.Guild | None, used_in: int) -> None:
        self._guild = guild
        self._used_in = used_in
        self.shares_channel_id: int | None = None

    def __call__(self, shares_channel_id: int | None) -> int:
        self.shares_channel_id = shares_channel_id
        if shares_channel_id is not None and usable_for_cards(self._guild, shares_channel_id):
            return shares_channel_id
        return self._used_in


def fallback_note(
    guild: discord.Guild | None, shares_channel_id: int | None, card_channel_id: int
) -> str | None:
    """Why a card is not in the shares channel an admin chose, when that is the case."""
    if shares_channel_id is None or shares_channel_id == card_channel_id:
        return None
    if guild is not None and guild.get_channel_or_thread(shares_channel_id) is None:
        return (
            "The shares channel no longer exists, so I posted the card here. An admin can "
            "choose a new one with `/pln shares-channel`."
        )
    return (
        "I couldn't use the shares channel, so I posted the card here. An admin can choose "
        "another one with `/pln shares-channel`."
    )
