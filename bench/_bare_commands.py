"""Bare discord.py versions of PLN Coach's hot commands: the same Discord calls, no work of ours.

The baseline of ``bench.hot_commands``. Each command has PLN Coach's name and options (so one
load spec drives both bots) and makes exactly the calls PLN Coach's makes, in the same order,
with payloads of about the same size, but stores, looks up and renders nothing: what PLN Coach
costs beyond this is its own. The sequences were read from the emulator's request log with one
interaction in flight (``bench.hot_commands --calls`` prints both bots' and checks they match).
"""

from __future__ import annotations

import asyncio
import io
import random
import re
import struct
import zlib
from typing import Any

import discord
from cachetools import TTLCache
from discord import app_commands

NO_PINGS = discord.AllowedMentions.none()
COLOUR = discord.Colour(0x2E8B57)
CARD_FILENAME = "progress-card.png"
# PLN Coach's progress card is a PNG of about 37 kB; this one is noise of the same size.
CARD_SIDE = 110
# PLN Coach asks for six candidates and looks up each one its cache does not know.
CANDIDATES = 6
MEMBER_CHECK_WAIT = 2.0
USEFUL_ID = "bare:useful:{id}"


def noise_png(side: int = CARD_SIDE, seed: int = 0) -> bytes:
    """An RGB PNG of random pixels: noise does not compress, so its size is set by ``side``."""
    rng = random.Random(seed)
    rows = b"".join(b"\x00" + rng.randbytes(side * 3) for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class BareUseful(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"bare:useful:(?P<id>[0-9]+)"
):
    """The card's Useful button, persistent like PLN Coach's.

    Calls: defer (ephemeral) → edit the original answer.
    """

    def __init__(self, card_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Useful",
                emoji="👍",
                style=discord.ButtonStyle.secondary,
                custom_id=USEFUL_ID.format(id=card_id),
            )
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> BareUseful:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.edit_original_response(
            content="Thanks! That counts toward your colleague's Contribute habit.",
            allowed_mentions=NO_PINGS,
        )


class BareCommands:
    """The commands, on a tree of the client's; ``seen`` is every member who used one."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client
        self.tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
        self.seen: dict[int, None] = {}  # insertion-ordered set
        # Members found in the server, trusted for ten minutes: PLN Coach's /connect suggest
        # does the same (cogs/connect/cog.py), so both make the same calls under load.
        self.still_here: TTLCache[int, bool] = TTLCache(50_000, 600.0)
        self.card_png = noise_png()
        self._cards = 0
        connect = app_commands.Group(name="connect", description="Reach out to people.")
        connect.add_command(
            app_commands.Command(
                name="suggest", description="Three colleagues.", callback=self.suggest
            )
        )
        self.tree.add_command(connect)
        self.tree.add_command(
            app_commands.Command(name="share", description="Share a link.", callback=self.share)
        )
        self.tree.add_command(
            app_commands.Command(
                name="progress", description="Your four habits.", callback=self.progress
            )
        )
        self.tree.add_command(
            app_commands.Command(name="ask", description="Ask a question.", callback=self.ask)
        )
        client.add_dynamic_items(BareUseful)

    def _saw(self, interaction: discord.Interaction[Any]) -> None:
        self.seen[interaction.user.id] = None

    async def share(
        self,
        interaction: discord.Interaction[Any],
        url: str,
        title: str | None = None,
        note: str | None = None,
        tags: str | None = None,
    ) -> None:
        """Calls: defer (ephemeral) → post the card (embed, Useful button) in the channel →
        edit the original answer (the receipt, with a link to the card)."""
        self._saw(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        self._cards += 1
        card = discord.Embed(
            title=title or url,
            url=url,
            description=note,
            colour=COLOUR,
            timestamp=discord.utils.utcnow(),
        )
        card.set_author(name=f"Shared by {interaction.user.display_name}")
        if tags:
            card.add_field(name="Tags", value=" ".join(f"`#{t.strip()}`" for t in tags.split(",")))
        card.set_footer(text="Contribute · add yours with /share")
        view = discord.ui.View(timeout=None)
        view.add_item(BareUseful(self._cards))
        assert isinstance(interaction.channel, discord.abc.Messageable)
        posted = await interaction.channel.send(embed=card, view=view, allowed_mentions=NO_PINGS)
        await interaction.edit_original_response(
            content=f"**Shared!** Recorded **{title or url}** ({tags or 'no tags'}).\n"
            f"Your card: {posted.jump_url}\nNext: Reply to or react to a colleague's message: "
            "one reply starts your Connect habit.",
            allowed_mentions=NO_PINGS,
        )

    async def progress(
        self, interaction: discord.Interaction[Any], member: discord.Member | None = None
    ) -> None:
        """Calls: defer (ephemeral) → edit the original answer with an embed and the card PNG."""
        self._saw(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        name = (member or interaction.user).display_name
        embed = discord.Embed(
            title=f"{name}'s learning network",
            description="Four habits grow a network, in this order: connect, contribute, "
            "converse, request.",
            colour=COLOUR,
        )
        for number, habit in enumerate(("Connect", "Contribute", "Converse", "Request"), 1):
            embed.add_field(
                name=f"{number}. {habit} — ○ Not started",
                value="Nothing yet.\nNext: Reply to or react to a colleague's message.",
                inline=False,
            )
        embed.add_field(name="Your next step", value="Say hi to a colleague.", inline=False)
        embed.set_image(url=f"attachment://{CARD_FILENAME}")
        embed.set_footer(text="Only you can see this.")
        await interaction.edit_original_response(
            embed=embed,
            attachments=[discord.File(io.BytesIO(self.card_png), filename=CARD_FILENAME)],
            allowed_mentions=NO_PINGS,
        )

    async def ask(
        self, interaction: discord.Interaction[Any], question: str, tags: str | None = None
    ) -> None:
        """Calls: defer (ephemeral) → post the question (text and embed) in the channel →
        open a thread from that message → edit the original answer (a link to the thread)."""
        self._saw(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        helpers = self._others(interaction.user.id)[:3]
        embed = discord.Embed(description=question, colour=COLOUR)
        if tags:
            embed.add_field(name="Tags", value=tags)
        embed.set_footer(text="Bare ask · reply in this thread to answer")
        assert isinstance(interaction.channel, discord.abc.Messageable)
        post = await interaction.channel.send(
            content=f"**A question from <@{interaction.user.id}>**\nAlso likely to know: "
            + " ".join(f"<@{helper}>" for helper in helpers),
            embed=embed,
            allowed_mentions=NO_PINGS,
        )
        thread = await post.create_thread(name=question[:100], auto_archive_duration=1440)
        await interaction.edit_original_response(
            content=f"Your question is up in <#{thread.id}>. Answers come in there.\n"
            "**Likely to help**\n"
            + "\n".join(f"• <@{helper}> — works with science" for helper in helpers)
            + "\nWhen an answer helps, right-click it → Apps → **Mark as helpful**.",
            allowed_mentions=NO_PINGS,
        )

    async def suggest(self, interaction: discord.Interaction[Any]) -> None:
        """Calls: defer (ephemeral) → look up each of six candidates not found in the last ten
        minutes (GET member; without the members intent none is cached) → edit the original
        answer (three of them, and why)."""
        self._saw(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild = interaction.guild
        assert guild is not None
        candidates = self._others(interaction.user.id)[:CANDIDATES]

        async def here(user_id: int) -> bool:
            if user_id in self.still_here:
                return True
            try:
                member = guild.get_member(user_id) or await guild.fetch_member(user_id)
            except discord.NotFound:
                return False
            except discord.HTTPException:
                return True
            if member.bot:
                return False
            self.still_here[user_id] = True
            return True

        checks = await asyncio.wait_for(
            asyncio.gather(*(here(c) for c in candidates)), MEMBER_CHECK_WAIT
        )
        present = [c for c, ok in zip(candidates, checks, strict=True) if ok][:3]
        lines = ["**Colleagues worth reaching out to**"] + [
            f"{n}. <@{user_id}> — also works with grade 7 · biology · science; you have not "
            "talked yet; outside your usual circle; active this week"
            for n, user_id in enumerate(present, 1)
        ]
        await interaction.edit_original_response(
            content="\n".join(lines), allowed_mentions=NO_PINGS
        )

    def _others(self, user_id: int) -> list[int]:
        """Members who used a command lately, newest first, without ``user_id``."""
        return [seen for seen in reversed(self.seen) if seen != user_id][: CANDIDATES + 1]
