"""`/privacy show|export|pause|resume|forget`, and deleting a server's data after the bot leaves.

Every answer is private. `forget` asks first, with a button only the member who asked can press
(it keeps working after a restart: its id says whose and where). From a DM, `forget` forgets the
member in every server; the other subcommands need a server.

When the bot is removed from a server, the server is marked; an hourly job (on the weekly
clock's ticks, so it also runs at start-up and when tests move the clock) deletes the servers
removed longer ago than ``privacy.retention_days``. A server the bot was removed from while it
was down is noticed when it is ready again; one it came back to is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import io
import json
import logging
import re
from datetime import timedelta
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PLNCoachBot
from bot.command_tree import report_error
from bot.errors import UserFacingError
from bot.services.members import Actor
from bot.services.privacy import Deleted, PublicPost
from cogs import _cooldowns as cooldowns
from cogs._safe_text import plain
from cogs._shared import NO_PINGS, coach_bot

log = logging.getLogger(__name__)

IN_A_SERVER = (
    "Use this inside a server: what I store is kept per server. "
    "From here, `/privacy forget` forgets you in every server."
)
# What each table holds about a member, in a member's words (tables not listed show by name).
LABELS = {
    "members": "member record (your name here, when you were first and last seen)",
    "activity_events": "activity events (what you did, and others' replies and reactions to you)",
    "ties": "ties (colleagues you reached, or who reached you)",
    "conversation_weeks": "conversation weeks",
    "resources": "shares",
    "resource_tags": "tags on your shares",
    "introductions": "introduction",
    "member_interests": "interests (from your intro and `/connect helper`)",
    "asks": "questions (`/ask`)",
    "ask_tags": "tags on your questions",
    "ask_helpers": "times `/ask` named you as a likely helper",
    "ask_answers": "answers (yours, and others' answers to your questions)",
    "challenge_completions": "weekly challenges done",
    "member_preferences": "preferences (nudges, shout-outs, pause)",
    "nudges_sent": "nudges sent (kept 30 days)",
    "pending_answers": "answers I still owe you (kept 15 minutes)",
    "outbox_posts": "posts about you (cards, your questions' threads, welcome, thanks)",
}
FORGET_ID = "pln:privacy:forget:{owner}:{server}"
KEEP_ID = "pln:privacy:keep:{owner}"
EVERYWHERE = 0
# Exports above this are sent gzipped (Discord's limit is per file; 10 MiB for most servers).
GZIP_ABOVE = 8 * 1024 * 1024


async def _refuse_others(interaction: discord.Interaction[Any], owner: int) -> bool:
    if interaction.user.id == owner:
        return True
    await interaction.response.send_message(
        "These buttons belong to whoever ran `/privacy forget`. "
        "Run `/privacy forget` yourself to be forgotten.",
        ephemeral=True,
    )
    return False


def _actor(interaction: discord.Interaction[Any]) -> Actor:
    guild = interaction.guild
    if guild is None:
        raise UserFacingError(IN_A_SERVER)
    return Actor(guild.id, guild.name, interaction.user.id, interaction.user.display_name)


def summary_text(server_name: str, counts: dict[str, int], paused: bool) -> str:
    lines = [f"**What I store about you in {plain(server_name)}**"]
    if counts:
        lines += [f"- {count} × {LABELS.get(table, table)}" for table, count in counts.items()]
    else:
        lines.append("Nothing at all.")
    lines += [
        "",
        "Never what your messages say: only who, where, when and replying to whom.",
        "**Tracking:** paused — I store nothing new about you here (`/privacy resume`)."
        if paused
        else "**Tracking:** on (`/privacy pause` stops it).",
        "`/privacy export` sends you all of it as a file; `/privacy forget` deletes it.",
    ]
    return "\n".join(lines)


def forgotten_text(deleted: Deleted, *, everywhere: bool) -> str:
    where = "in every server" if everywhere else "in this server"
    if not deleted.total:
        return f"Done: I had nothing stored about you {where}."
    text = f"Done: I deleted everything I stored about you {where} ({deleted.total} records)."
    if deleted.posts:
        count = len(deleted.posts)
        posts = "the post" if count == 1 else f"the {count} posts"
        text += f" I'm also deleting {posts} I made about you."
    return text + " `/privacy pause` stops me noticing what you do from now on."


def confirm_text(server_name: str | None, servers: list[str]) -> str:
    if server_name is None:
        where = (
            "in every server (" + ", ".join(plain(name) for name in servers) + ")"
            if servers
            else "in every server"
        )
    else:
        where = f"in {plain(server_name)}"
    return "\n".join(
        [
            f"**Forget me {where}?**",
            "I'll delete everything I store about you there: your shares, questions, answers, "
            "intro and interests, activity, your ties and conversations (so other members' "
            "replies to you stop counting for them), challenges done and preferences. "
            "It can't be undone.",
            "I'll also delete the posts I made about you (your cards, your questions' opening "
            "posts, welcome and thank-you notes). Threads, and messages you or others wrote, "
            "stay on Discord: delete your own there.",
            "A tracking pause ends too: use `/privacy pause` again afterwards if you like.",
        ]
    )


class ForgetButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"pln:privacy:forget:(?P<owner>[0-9]+):(?P<server>[0-9]+)",
):
    """Confirms `/privacy forget`; the id carries who asked and where (0: every server)."""

    def __init__(self, owner: int, server_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Forget me",
                style=discord.ButtonStyle.danger,
                custom_id=FORGET_ID.format(owner=owner, server=server_id),
            )
        )
        self.owner = owner
        self.server_id = server_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> ForgetButton:
        return cls(int(match["owner"]), int(match["server"]))

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        return await _refuse_others(interaction, self.owner)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.edit_message(content="Forgetting you…", view=None)
        bot = coach_bot(interaction)
        privacy = bot.services.privacy
        try:
            await bot.ingest.catch_up()  # what was queued about them is deleted too
            if self.server_id == EVERYWHERE:
                deleted = await privacy.forget_everywhere(self.owner)
            else:
                deleted = await privacy.forget(self.server_id, self.owner)
        except Exception as error:  # buttons have no tree-level handler: answer here
            await report_error(interaction, error, action="/privacy forget")
            return
        log.info("Forgot a member (%d rows, %d posts)", deleted.total, len(deleted.posts))
        await interaction.edit_original_response(
            content=forgotten_text(deleted, everywhere=self.server_id == EVERYWHERE)
        )
        cog = bot.get_cog("Privacy")
        if isinstance(cog, Privacy):
            cog.delete_posts(deleted.posts)


class KeepButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"pln:privacy:keep:(?P<owner>[0-9]+)"
):
    def __init__(self, owner: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Cancel",
                style=discord.ButtonStyle.secondary,
                custom_id=KEEP_ID.format(owner=owner),
            )
        )
        self.owner = owner

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> KeepButton:
        return cls(int(match["owner"]))

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        return await _refuse_others(interaction, self.owner)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.edit_message(
            content="Nothing was deleted.", view=None, allowed_mentions=NO_PINGS
        )


def confirm_view(owner: int, server_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ForgetButton(owner, server_id))
    view.add_item(KeepButton(owner))
    return view


@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
class Privacy(
    commands.GroupCog,
    group_name="privacy",
    group_description="What PLN Coach stores about you: see it, export it, pause, forget.",
):
    def __init__(self, bot: PLNCoachBot) -> None:
        self.bot = bot
        self._deleting: set[asyncio.Task[None]] = set()
        # Set once the servers this process is in are stored (on_ready): until then a server
        # the bot was invited back to while it was down still looks removed to the sweep.
        self._presence_known = asyncio.Event()
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ForgetButton, KeepButton)
        self.bot.weekly_hooks.every_hour(self.sweep)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ForgetButton, KeepButton)
        for task in self._deleting:
            task.cancel()

    # -- commands -------------------------------------------------------------------------------

    @app_commands.command(name="show", description="What I store about you in this server.")
    async def show(self, interaction: discord.Interaction[PLNCoachBot]) -> None:
        actor = _actor(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        privacy = self.bot.services.privacy
        counts = await privacy.summary(actor.server_id, actor.user_id)
        paused = await privacy.paused_since(actor.server_id, actor.user_id) is not None
        await interaction.edit_original_response(
            content=summary_text(actor.server_name, counts, paused), allowed_mentions=NO_PINGS
        )

    @app_commands.command(
        name="export", description="Everything I store about you in this server, as a file."
    )
    @cooldowns.EXPORT
    async def export(self, interaction: discord.Interaction[PLNCoachBot]) -> None:
        actor = _actor(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        exported = await self.bot.services.privacy.export(actor.server_id, actor.user_id)
        data = json.dumps(exported, indent=1, ensure_ascii=False).encode()
        name = f"pln-coach-{actor.server_id}-{actor.user_id}.json"
        if len(data) > GZIP_ABOVE:
            data, name = gzip.compress(data), name + ".gz"
        if len(data) > interaction.filesize_limit:
            raise UserFacingError(
                "Your export is bigger than Discord lets me send. Ask the bot's operator for it, "
                "or use `/privacy forget` if you want it deleted."
            )
        rows = sum(len(found) for found in exported["tables"].values())
        await interaction.edit_original_response(
            content=(
                f"Everything I store about you in {plain(actor.server_name)}: {rows} records, "
                "table by table (times in UTC; Discord ids as text). Only you can see this."
            ),
            attachments=[discord.File(io.BytesIO(data), filename=name)],
            allowed_mentions=NO_PINGS,
        )

    @app_commands.command(
        name="pause", description="Stop noticing what you do here (nothing new is stored)."
    )
    async def pause(self, interaction: discord.Interaction[PLNCoachBot]) -> None:
        actor = _actor(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        changed = await self.bot.services.privacy.pause(actor)
        await interaction.edit_original_response(
            content=(
                ("Paused" if changed else "Already paused")
                + ": I store nothing new about you in this server. Your replies, reactions and "
                "threads aren't recorded, nor others' replies and reactions to you; I won't "
                "suggest you to colleagues or name you as a helper, and commands that would "
                "record something (`/share`, `/ask`, intros, challenges, Useful) wait for "
                "`/privacy resume`. What I stored before stays until you `/privacy forget` it."
            )
        )

    @app_commands.command(name="resume", description="Notice what you do here again.")
    async def resume(self, interaction: discord.Interaction[PLNCoachBot]) -> None:
        actor = _actor(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        changed = await self.bot.services.privacy.resume(actor.server_id, actor.user_id)
        await interaction.edit_original_response(
            content=(
                "Resumed: I notice what you do here again (from now on; nothing from the pause)."
                if changed
                else "Tracking wasn't paused: I already notice what you do here."
            )
        )

    @app_commands.command(
        name="forget",
        description="Delete everything I store about you here (in a DM: in every server).",
    )
    async def forget(self, interaction: discord.Interaction[PLNCoachBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        user_id = interaction.user.id
        guild = interaction.guild
        if guild is None:
            servers = await self.bot.services.privacy.servers_of(user_id)
            text = confirm_text(None, [name for _, name in servers])
            view = confirm_view(user_id, EVERYWHERE)
        else:
            text = confirm_text(guild.name, [])
            view = confirm_view(user_id, guild.id)
        await interaction.edit_original_response(content=text, view=view, allowed_mentions=NO_PINGS)

    # -- the bot's own posts about a forgotten member -------------------------------------------

    def delete_posts(self, posts: list[PublicPost]) -> None:
        """Delete the bot's posts about a forgotten member, in the background (best effort:
        a post already deleted, or in a channel the bot can no longer see, is skipped)."""
        if not posts:
            return
        task = asyncio.get_running_loop().create_task(self._delete_posts(posts))
        self._deleting.add(task)
        task.add_done_callback(self._deleting.discard)

    async def _delete_posts(self, posts: list[PublicPost]) -> None:
        for post in posts:
            channel = self.bot.get_partial_messageable(post.channel_id, guild_id=post.server_id)
            with contextlib.suppress(discord.HTTPException):
                await channel.get_partial_message(post.message_id).delete()

    # -- servers the bot left -------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.bot.services.privacy.server_removed(guild.id, self.bot.clock())
        log.info(
            "Removed from server %s: its data is deleted in %g days unless I am invited back",
            guild.id,
            self.bot.settings.privacy.retention_days,
        )

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.bot.services.privacy.server_joined(guild.id)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        await self.bot.services.privacy.servers_present(
            {guild.id for guild in self.bot.guilds}, owns=self.bot.owns
        )
        self._presence_known.set()

    async def sweep(self) -> None:
        """Delete the servers the bot left longer ago than the retention period, once this
        process knows which servers it is in (a sweep before that waits for the next hour)."""
        if not self._presence_known.is_set():
            return
        retention = timedelta(days=self.bot.settings.privacy.retention_days)
        purged = await self.bot.services.privacy.purge_removed_servers(
            self.bot.clock(), retention, owns=self.bot.owns
        )
        for server in purged:
            log.info(
                "Deleted the data of server %s (%d rows): removed over %g days ago",
                server.server_id,
                server.deleted.total,
                self.bot.settings.privacy.retention_days,
            )


async def setup(bot: PLNCoachBot) -> None:
    await bot.add_cog(Privacy(bot))
