"""The resource card posted for each new share, and its persistent "Useful" button."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import discord

from bot.command_tree import report_error
from bot.services.sharing import SharedResource, UsefulMark
from cogs._shared import COACH_COLOUR, NO_PINGS, actor_from, coach_bot

EMBED_TITLE_LIMIT = 256
# [text](https://...) renders as a link in embeds, so its text could hide where it leads.
_MASKED_LINK = re.compile(r"\[([^\]\n]*)\]\(\s*<?(https?://[^\s)>]+)>?\s*\)")


def show_link_targets(text: str) -> str:
    """``[lesson](https://x.org)`` -> ``lesson (https://x.org)``: every address stays visible."""
    return _MASKED_LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)


def card_title(resource: SharedResource) -> str:
    title = resource.title or urlsplit(resource.url).hostname or resource.url
    return title[:EMBED_TITLE_LIMIT]


def resource_card(resource: SharedResource) -> discord.Embed:
    """The shared link as an embed: text in embeds never pings anyone, whatever it contains."""
    embed = discord.Embed(
        title=card_title(resource),
        url=resource.url,
        description=show_link_targets(resource.note) if resource.note else None,
        colour=COACH_COLOUR,
        timestamp=resource.created_at,
    )
    embed.set_author(name=f"Shared by {resource.shared_by_name}")
    if resource.tags:
        embed.add_field(name="Tags", value=" ".join(f"`#{tag}`" for tag in resource.tags))
    embed.set_footer(text="Contribute · add yours with /share")
    return embed


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
                custom_id=f"pln:resource:useful:{resource_id}",
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
        try:
            mark, resource = await coach_bot(interaction).services.sharing.mark_useful(
                actor_from(interaction), self.resource_id
            )
        except Exception as error:  # buttons have no tree-level handler: answer here
            await report_error(interaction, error, action="Useful button")
            return
        replies = {
            UsefulMark.RECORDED: (
                f"Thanks! That counts toward {resource.shared_by_name}'s Contribute habit."
            ),
            UsefulMark.ALREADY_MARKED: "You already marked this one as useful. Thanks again!",
            UsefulMark.OWN_RESOURCE: (
                "That's your own share, so it doesn't count, but it's great that you use it!"
            ),
        }
        await interaction.response.send_message(
            replies[mark], ephemeral=True, allowed_mentions=NO_PINGS
        )


def card_view(resource: SharedResource) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(UsefulButton(resource.id))
    return view
