"""`/resources`: search what this server has shared, page by page, privately.

The page buttons carry the search itself in their ids (owner, page, tag and words), so they keep
working after a restart; only the member who searched may turn the pages.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import urlsplit

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PLNCoachBot
from bot.command_tree import report_error
from bot.errors import DatabaseUnavailable
from bot.services.resource_search import MAX_QUERY_LENGTH, FoundResource, ResourcePage
from bot.services.share_input import MAX_TAG_LENGTH
from cogs import _cooldowns as cooldowns
from cogs._safe_text import note, plain
from cogs._shared import COACH_COLOUR, NO_PINGS, coach_bot

PAGE_ID = "pln:res:{owner}:{page}:{tag}|{query}"
# Discord's limits for an embed: all its text, and one field's value.
EMBED_LIMIT = 6000
FIELD_VALUE_LIMIT = 1024
# Discord waits 3 s for autocomplete choices.
AUTOCOMPLETE_WAIT = 2.0


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def page_id(owner: int, page: int, tag: str | None, query: str | None) -> str:
    words = " ".join((query or "").replace("|", " ").split())[:MAX_QUERY_LENGTH]
    return PAGE_ID.format(owner=_base36(owner), page=page, tag=tag or "", query=words)


def resources_embed(found: ResourcePage, tag: str | None, query: str | None) -> discord.Embed:
    looked_for = " · ".join(
        part for part in (f"#{plain(tag)}" if tag else "", plain(query) if query else "") if part
    )
    title = f"Resources: {looked_for}" if looked_for else "Resources shared here"
    title = title[:256]
    embed = discord.Embed(title=title, colour=COACH_COLOUR)
    if not found.items:
        embed.description = (
            "Nothing shared matches that yet. Be the first: `/share` a link, plan or tip."
            if looked_for
            else "Nothing has been shared here yet. Be the first with `/share`."
        )
        return embed
    footer = f"Page {found.page + 1} of {found.pages} · {found.total} found · most useful first"
    names = [_title(item)[:256] for item in found.items]
    # Five long titles, links and notes would pass Discord's 6,000 characters for a whole embed.
    room = EMBED_LIMIT - len(title) - len(footer) - sum(len(name) for name in names)
    budget = min(FIELD_VALUE_LIMIT, room // len(found.items))
    for name, item in zip(names, found.items, strict=True):
        details = _details(item)
        if len(details) > budget:
            details = details[: budget - 1] + "…"
        embed.add_field(name=name, value=details, inline=False)
    embed.set_footer(text=footer)
    return embed


def _title(item: FoundResource) -> str:
    return plain(item.title or urlsplit(item.url).hostname or item.url, limit=200)


def _details(item: FoundResource) -> str:
    lines = [note(item.url)]
    if item.note:
        lines.append(note(item.note[:300] + ("…" if len(item.note) > 300 else "")))
    when = discord.utils.format_dt(item.created_at, "R")
    facts = [f"shared by **{plain(item.shared_by_name)}** {when}"]
    if item.useful:
        facts.append(f"useful to {item.useful}")
    if item.tags:
        facts.append(" ".join(f"#{plain(t)}" for t in item.tags))
    lines.append(" · ".join(facts))
    return "\n".join(lines)


class PageButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"pln:res:(?P<owner>[0-9a-z]+):(?P<page>[0-9]+):(?P<tag>[^|]*)\|(?P<query>.*)",
):
    def __init__(
        self, owner: int, page: int, tag: str | None, query: str | None, *, label: str
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=page_id(owner, page, tag, query),
            )
        )
        self.owner, self.page, self.tag, self.query = owner, page, tag, query

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> PageButton:
        return cls(
            int(match["owner"], 36),
            int(match["page"]),
            match["tag"] or None,
            match["query"] or None,
            label=getattr(item, "label", None) or "Page",
        )

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        if interaction.user.id == self.owner:
            return True
        await interaction.response.send_message(
            "These buttons belong to whoever ran this search. Run `/resources` to search yourself.",
            ephemeral=True,
        )
        return False

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer()  # the page is edited in place
        try:
            await show_page(interaction, self.owner, self.page, self.tag, self.query)
        except Exception as error:  # buttons have no tree-level handler: answer here
            await report_error(interaction, error, action="/resources page")


def page_view(
    owner: int, found: ResourcePage, tag: str | None, query: str | None
) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    if found.pages > 1:
        previous = PageButton(owner, max(found.page - 1, 0), tag, query, label="◀ Newer")
        following = PageButton(owner, found.page + 1, tag, query, label="Older ▶")
        previous.item.disabled = found.page == 0
        following.item.disabled = found.page >= found.pages - 1
        if previous.item.disabled:
            previous.item.custom_id = "pln:res-first"
        if following.item.disabled:
            following.item.custom_id = "pln:res-last"
        view.add_item(previous)
        view.add_item(following)
    return view


async def show_page(
    interaction: discord.Interaction[Any],
    owner: int,
    page: int,
    tag: str | None,
    query: str | None,
) -> None:
    guild_id = interaction.guild_id
    assert guild_id is not None
    search = coach_bot(interaction).services.resource_search
    found = await search.search(guild_id, query=query, tag=tag, page=page)
    await interaction.edit_original_response(
        embed=resources_embed(found, tag, query),
        view=page_view(owner, found, tag, query),
        allowed_mentions=NO_PINGS,
    )


class Resources(commands.Cog):
    def __init__(self, bot: PLNCoachBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(PageButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(PageButton)

    @app_commands.command(name="resources", description="Search what colleagues have shared here.")
    @app_commands.describe(
        query="Words to look for in titles, notes, links and tags (optional)",
        tag="Only resources with this tag (optional)",
    )
    @app_commands.guild_only()
    @cooldowns.READS
    async def resources(
        self,
        interaction: discord.Interaction[PLNCoachBot],
        query: app_commands.Range[str, 1, MAX_QUERY_LENGTH] | None = None,
        tag: app_commands.Range[str, 1, MAX_TAG_LENGTH] | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        clean_tag = tag.strip().lstrip("#").casefold() or None if tag else None
        clean_query = " ".join(query.replace("|", " ").split()) or None if query else None
        await show_page(interaction, interaction.user.id, 0, clean_tag, clean_query)

    @resources.autocomplete("tag")
    async def _tags(
        self, interaction: discord.Interaction[PLNCoachBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        # Autocomplete can't be deferred: with the database slow, offer nothing in time
        # rather than let Discord drop the request.
        try:
            found = await asyncio.wait_for(
                self.bot.services.resource_search.tags(interaction.guild_id, current),
                AUTOCOMPLETE_WAIT,
            )
        except (TimeoutError, DatabaseUnavailable):
            return []
        return [
            app_commands.Choice(name=f"{tag} ({count})"[:100], value=tag) for tag, count in found
        ]


async def setup(bot: PLNCoachBot) -> None:
    await bot.add_cog(Resources(bot))
