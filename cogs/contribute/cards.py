"""The resource card posted for each new share, and its persistent "Useful" button."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import discord

from bot.command_tree import report_error
from bot.delivery.answers import RenderedAnswer
from bot.services.sharing import SharedResource, UsefulMark
from cogs._acknowledge import acknowledged_while
from cogs._safe_text import note, plain
from cogs._shared import COACH_COLOUR, actor_from, answer_ticket, coach_bot

EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
USEFUL_ID = "pln:resource:useful:{id}"


def _fit(raw: str, limit: int, show: Callable[[str], str]) -> str:
    """``show(raw)`` within ``limit`` characters: shorten what was typed, not the escaped form,
    so an escape or a revealed link is never cut in half."""
    shown = show(raw)
    while len(shown) > limit:
        raw = raw[: len(raw) - (len(shown) - limit) - 1]
        shown = show(raw) + "…"
    return shown


def card_title(resource: SharedResource) -> str:
    """The card's title as members see it: theirs, else the site's name, with markdown off."""
    title = resource.title or urlsplit(resource.url).hostname or resource.url
    return plain(title, limit=EMBED_TITLE_LIMIT)


def card_marker(resource_id: int) -> str:
    """Only this resource's card carries it (as its button's id): how a card is found again."""
    return USEFUL_ID.format(id=resource_id)


def resource_card(resource: SharedResource) -> discord.Embed:
    """The shared link as an embed: text in embeds never pings anyone, whatever it contains."""
    embed = discord.Embed(
        title=card_title(resource),
        url=resource.url,
        description=_fit(resource.note, EMBED_DESCRIPTION_LIMIT, note) if resource.note else None,
        colour=COACH_COLOUR,
        timestamp=resource.created_at,
    )
    # Author names show no markdown, so the name goes in as the member wrote it.
    embed.set_author(name=f"Shared by {resource.shared_by_name}"[:256])
    if resource.tags:
        embed.add_field(name="Tags", value=" ".join(f"`#{tag}`" for tag in resource.tags))
    embed.set_footer(text="Contribute · add yours with /share")
    return embed


def useful_reply(mark: UsefulMark, sharer_name: str) -> str:
    replies = {
        UsefulMark.RECORDED: (
            f"Thanks! That counts toward {plain(sharer_name)}'s Contribute habit."
        ),
        UsefulMark.ALREADY_MARKED: "You already marked this one as useful. Thanks again!",
        UsefulMark.OWN_RESOURCE: (
            "That's your own share, so it doesn't count, but it's great that you use it!"
        ),
    }
    return replies[mark]


class UsefulButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"pln:resource:useful:(?P<id>[0-9]+)"
):
    """A card's "Useful" button; it works after restarts because its id carries the resource."""

    def __init__(self, resource_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Useful",
                emoji="👍",
                style=discord.ButtonStyle.secondary,
                custom_id=card_marker(resource_id),
            )
        )
        self.resource_id = resource_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> UsefulButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = coach_bot(interaction)
        try:
            # Answers Discord at once (the database may be slow, and the member must see
            # something), and stores the mark while that travels.
            marking = bot.services.sharing.mark_useful(
                actor_from(interaction), self.resource_id, answer=answer_ticket(interaction)
            )
            mark, resource, owed = await acknowledged_while(interaction, marking)
        except Exception as error:  # buttons have no tree-level handler: answer here
            await report_error(interaction, error, action="Useful button")
            return
        await bot.answers.deliver(owed, RenderedAnswer(useful_reply(mark, resource.shared_by_name)))


def card_view(resource: SharedResource) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(UsefulButton(resource.id))
    return view
