"""Passive tracking: replies, messages in threads, reactions, thread starts and deletions.

Gateway events in, plain signals out (``bot.services.signals``); the ingest stores them in
batches. Only metadata is read: ids, authors, places, times and reply targets, never what a
message says (the bot has no message-content intent). Bots, webhooks and system messages never
count; self-replies and self-reactions are dropped by the ingest.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable

import discord
from discord.ext import commands

from bot.app import PLNCoachBot
from bot.db import utcnow
from bot.services.signals import (
    Author,
    MessagesDeleted,
    MessageSeen,
    ReactionAdded,
    ReactionRemoved,
    ThreadCreated,
)

# Messages members write: ordinary ones and replies (not joins, pins, thread notices...).
_MEMBER_MESSAGE_TYPES = (discord.MessageType.default, discord.MessageType.reply)
# Members who posted lately, remembered to name a thread's starter without asking Discord.
_RECENT_AUTHORS = 10_000


def _author(user: discord.abc.User) -> Author:
    return Author(user.id, user.display_name)


def _thread_created(thread: discord.Thread, owner: Author) -> ThreadCreated:
    return ThreadCreated(
        server_id=thread.guild.id,
        server_name=thread.guild.name,
        thread_id=thread.id,
        owner=owner,
        at=thread.created_at or utcnow(),
    )


def _replied_to(message: discord.Message) -> int | None:
    """The author of the message this one replies to, when Discord sent it along."""
    reference = message.reference
    if reference is None or not isinstance(reference.resolved, discord.Message):
        return None
    replied = reference.resolved
    if replied.author.bot or replied.webhook_id is not None:
        return None
    return replied.author.id


class Tracking(commands.Cog):
    def __init__(self, bot: PLNCoachBot) -> None:
        self.bot = bot
        # Bots seen posting: a reaction event names the message's author by id only, and
        # without the members intent the cache can't say whether that id is a bot.
        self._bots: set[int] = set()
        # Members seen posting, by (server, member), newest last. A thread's starter has nearly
        # always just posted (the message the thread starts from); remembering them spares a
        # REST call per thread, which on a busy server would run into Discord's 50 requests/s.
        self._authors: OrderedDict[tuple[int, int], Author] = OrderedDict()
        # Member lookups for thread starters never seen posting (rare), kept until done.
        self._lookups: set[asyncio.Task[None]] = set()

    async def cog_load(self) -> None:
        # Observed in discord.py's dispatch, not as listener tasks: see PassiveIngest.offer_nowait.
        for event, observer in self._observers():
            self.bot.observe(event, observer)

    async def cog_unload(self) -> None:
        for event, observer in self._observers():
            self.bot.forget_observer(event, observer)

    def _observers(self) -> list[tuple[str, Callable[..., None]]]:
        return [
            ("message", self.see_message),
            ("raw_reaction_add", self.see_reaction_add),
            ("raw_reaction_remove", self.see_reaction_remove),
            ("raw_message_delete", self.see_message_delete),
            ("raw_bulk_message_delete", self.see_bulk_message_delete),
            ("thread_create", self.see_thread_create),
        ]

    def see_message(self, message: discord.Message) -> None:
        guild = message.guild
        if message.author.bot:
            self._bots.add(message.author.id)
        if (
            guild is None
            or message.author.bot
            or message.webhook_id is not None
            or message.type not in _MEMBER_MESSAGE_TYPES
        ):
            return
        author = self._remember(guild.id, message.author)
        thread = message.channel if isinstance(message.channel, discord.Thread) else None
        reply_to = _replied_to(message)
        if reply_to is None and thread is None:
            return  # an ordinary message in a channel: nothing to record
        self.bot.ingest.offer_nowait(
            MessageSeen(
                server_id=guild.id,
                server_name=guild.name,
                channel_id=message.channel.id,
                message_id=message.id,
                author=author,
                at=message.created_at,
                reply_to=reply_to,
                in_thread=thread is not None,
                thread_owner_id=self._member_owner(thread),
            )
        )

    def see_reaction_add(self, event: discord.RawReactionActionEvent) -> None:
        guild = self.bot.get_guild(event.guild_id) if event.guild_id else None
        member = event.member
        author_id = event.message_author_id
        if guild is None or member is None or member.bot or author_id is None:
            return
        mine = self.bot.user is not None and author_id == self.bot.user.id
        if author_id in self._bots and not mine:
            return  # reacting to another bot's message reaches no colleague
        self.bot.ingest.offer_nowait(
            ReactionAdded(
                server_id=guild.id,
                server_name=guild.name,
                channel_id=event.channel_id,
                message_id=event.message_id,
                reactor=_author(member),
                message_author_id=author_id,
                emoji=str(event.emoji),
                at=utcnow(),
                on_bot_post=mine,
            )
        )

    def see_reaction_remove(self, event: discord.RawReactionActionEvent) -> None:
        if event.guild_id is None:
            return
        self.bot.ingest.offer_nowait(
            ReactionRemoved(event.guild_id, event.message_id, event.user_id, str(event.emoji))
        )

    def see_message_delete(self, event: discord.RawMessageDeleteEvent) -> None:
        if event.guild_id is not None:
            self.bot.ingest.offer_nowait(MessagesDeleted(event.guild_id, (event.message_id,)))

    def see_bulk_message_delete(self, event: discord.RawBulkMessageDeleteEvent) -> None:
        if event.guild_id is not None:
            self.bot.ingest.offer_nowait(
                MessagesDeleted(event.guild_id, tuple(sorted(event.message_ids)))
            )

    def see_thread_create(self, thread: discord.Thread) -> None:
        owner_id = thread.owner_id
        me = self.bot.user
        if owner_id in self._bots or (me is not None and owner_id == me.id):
            return
        known = self._authors.get((thread.guild.id, owner_id))
        if known is not None:  # nearly always: the starter just posted
            self.bot.ingest.offer_nowait(_thread_created(thread, known))
            return
        task = asyncio.get_running_loop().create_task(self._thread_by_unknown(thread))
        self._lookups.add(task)
        task.add_done_callback(self._lookups.discard)

    async def _thread_by_unknown(self, thread: discord.Thread) -> None:
        owner = await self._thread_owner(thread)
        if owner is not None:
            await self.bot.ingest.offer(_thread_created(thread, owner))

    async def _thread_owner(self, thread: discord.Thread) -> Author | None:
        """Who started the thread, unless it was a bot (or is unknown)."""
        owner_id = thread.owner_id
        owner = thread.owner
        if owner is None and owner_id:
            # Not seen posting, and without the members intent rarely cached: ask Discord.
            with contextlib.suppress(discord.HTTPException):
                owner = await thread.guild.fetch_member(owner_id)
        if owner is None or owner.bot:
            return None
        return _author(owner)

    def _member_owner(self, thread: discord.Thread | None) -> int | None:
        """Who started the thread, if a member did (a bot's thread, e.g. an ask's, answers
        nobody by itself)."""
        if thread is None or thread.owner_id is None or thread.owner_id in self._bots:
            return None
        me = self.bot.user
        return None if me is not None and thread.owner_id == me.id else thread.owner_id

    def _remember(self, server_id: int, user: discord.abc.User) -> Author:
        key = (server_id, user.id)
        author = self._authors.get(key)
        if author is None or author.display_name != user.display_name:
            author = _author(user)
        self._authors[key] = author
        self._authors.move_to_end(key)
        if len(self._authors) > _RECENT_AUTHORS:
            self._authors.popitem(last=False)
        return author


async def setup(bot: PLNCoachBot) -> None:
    await bot.add_cog(Tracking(bot))
