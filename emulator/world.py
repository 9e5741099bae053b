"""The in-memory Discord: every record, their indexes, and permission look-ups.

The world is pure state with no I/O; ``DiscordEmulator`` combines it with the gateway so that
changes made here can be announced to connected bots.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
import time
from collections.abc import Iterable, Iterator

from . import permissions as perms
from .snowflakes import SnowflakeGenerator
from .state import (
    DM_CHANNEL,
    FORUM_CHANNEL,
    PRIVATE_THREAD,
    REQUIRE_TAG,
    TEXT_CHANNEL,
    THREAD_STARTER_MESSAGE,
    Application,
    Channel,
    ForumSettings,
    ForumTag,
    Guild,
    Member,
    Message,
    Overwrite,
    Role,
    User,
)

FORUM_TAGS_LIMIT = 20
FORUM_TAG_NAME_LIMIT = 20


class Ids(SnowflakeGenerator):
    """Snowflakes, one of which can be handed out a second time on purpose.

    A forum post's first message has its thread's id (topics/threads, Creating Threads in
    Forum and Media Channels); ``reusing`` lets the code that creates that message take the
    thread's id without knowing about it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._again: int | None = None

    def next(self) -> int:
        if self._again is not None:
            value, self._again = self._again, None
            return value
        return super().next()

    @contextlib.contextmanager
    def reusing(self, value: int) -> Iterator[None]:
        """The next id handed out inside the block is ``value`` (an id already issued)."""
        self._again = value
        try:
            yield
        finally:
            self._again = None


class World:
    def __init__(self) -> None:
        self.ids = Ids()
        self.users: dict[int, User] = {}
        self.applications: dict[int, Application] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.roles: dict[int, Role] = {}
        self.messages: dict[int, Message] = {}
        self.channel_messages: dict[int, list[Message]] = {}
        # Messages sent with a nonce, by (channel, author, nonce): Discord checks a nonce
        # without reading the channel, and so must we (a scan made the emulator, not the
        # bot, the bottleneck of benchmarks posting thousands of messages).
        self._with_nonce: dict[tuple[int, int, str | int], list[Message]] = {}
        # Users who turned direct messages off: a bot's DM to them is refused (50007).
        self.dms_closed: set[int] = set()

    # -- creation -------------------------------------------------------------------------------

    def create_user(
        self, username: str, *, bot: bool = False, global_name: str | None = None
    ) -> User:
        user = User(id=self.ids.next(), username=username, bot=bot, global_name=global_name)
        self.users[user.id] = user
        return user

    def create_application(
        self, name: str, token: str | None = None, *, privileged_intents: int = 0
    ) -> Application:
        app_id = self.ids.next()
        bot_user = User(id=app_id, username=name, bot=True)
        self.users[app_id] = bot_user
        if token is None:
            token = _make_token(app_id)
        if self.application_by_token(token) is not None:
            raise ValueError("an application with this token already exists")
        app = Application(
            id=app_id,
            token=token,
            bot_user=bot_user,
            name=name,
            privileged_intents=privileged_intents,
        )
        self.applications[app_id] = app
        return app

    def create_guild(self, name: str, owner_id: int) -> Guild:
        owner = self.require_user(owner_id)
        guild = Guild(id=self.ids.next(), name=name, owner_id=owner_id)
        everyone = Role(
            id=guild.id,
            guild_id=guild.id,
            name="@everyone",
            permissions=perms.DEFAULT_EVERYONE_PERMISSIONS,
            position=0,
        )
        guild.roles[everyone.id] = everyone
        self.roles[everyone.id] = everyone
        self.guilds[guild.id] = guild
        guild.members[owner.id] = Member(guild_id=guild.id, user=owner)
        return guild

    def create_role(
        self,
        guild_id: int,
        name: str,
        *,
        permissions: int = 0,
        mentionable: bool = False,
        color: int = 0,
        hoist: bool = False,
        managed: bool = False,
        bot_id: int | None = None,
    ) -> Role:
        guild = self.require_guild(guild_id)
        role = Role(
            id=self.ids.next(),
            guild_id=guild_id,
            name=name,
            permissions=permissions,
            mentionable=mentionable,
            position=len(guild.roles),
            color=color,
            hoist=hoist,
            managed=managed,
            bot_id=bot_id,
        )
        guild.roles[role.id] = role
        self.roles[role.id] = role
        return role

    def create_text_channel(
        self, guild_id: int, name: str, *, topic: str | None = None, parent_id: int | None = None
    ) -> Channel:
        guild = self.require_guild(guild_id)
        channel = Channel(
            id=self.ids.next(),
            guild_id=guild_id,
            name=name,
            type=TEXT_CHANNEL,
            topic=topic,
            position=len(guild.channels),
            parent_id=parent_id,
        )
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        self.channel_messages[channel.id] = []
        return channel

    def create_forum_channel(
        self,
        guild_id: int,
        name: str,
        tags: Iterable[str | ForumTag] = (),
        *,
        require_tag: bool = False,
        topic: str | None = None,
        default_reaction_emoji: str | None = None,
        parent_id: int | None = None,
    ) -> Channel:
        """A GUILD_FORUM channel whose posts can carry ``tags`` (names, or ``ForumTag`` for a
        moderated tag or one with an emoji; ids are given here)."""
        guild = self.require_guild(guild_id)
        available = []
        for tag in tags:
            if isinstance(tag, str):
                tag = ForumTag(id=0, name=tag)
            if not 1 <= len(tag.name) <= FORUM_TAG_NAME_LIMIT:
                raise ValueError(f"a tag name has 1 to {FORUM_TAG_NAME_LIMIT} characters")
            if tag.emoji_id is not None and tag.emoji_name is not None:
                raise ValueError("a tag has at most one of emoji_id and emoji_name")
            tag.id = self.ids.next()
            available.append(tag)
        if len(available) > FORUM_TAGS_LIMIT:
            raise ValueError(f"a forum has at most {FORUM_TAGS_LIMIT} tags")
        if len({t.name for t in available}) != len(available):
            raise ValueError("tag names must be unique in a forum")
        channel = Channel(
            id=self.ids.next(),
            guild_id=guild_id,
            name=name,
            type=FORUM_CHANNEL,
            topic=topic,
            position=len(guild.channels),
            parent_id=parent_id,
            flags=REQUIRE_TAG if require_tag else 0,
            forum=ForumSettings(
                available_tags=available, default_reaction_emoji=default_reaction_emoji
            ),
        )
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        self.channel_messages[channel.id] = []
        return channel

    def add_member(
        self, guild_id: int, user_id: int, roles: Iterable[int] = (), nick: str | None = None
    ) -> Member:
        guild = self.require_guild(guild_id)
        user = self.require_user(user_id)
        role_ids = []
        for role_id in roles:
            if role_id not in guild.roles or role_id == guild.id:
                raise ValueError(f"role {role_id} is not a role of guild {guild_id}")
            role_ids.append(role_id)
        member = guild.members.get(user_id)
        if member is None:
            member = Member(guild_id=guild_id, user=user, roles=role_ids, nick=nick)
            guild.members[user_id] = member
        else:
            member.roles = list(dict.fromkeys([*member.roles, *role_ids]))
            if nick is not None:
                member.nick = nick
        return member

    def dm_channel(self, user_id: int, other_id: int) -> Channel:
        """The DM channel between two users, created on first use."""
        self.require_user(user_id)
        self.require_user(other_id)
        pair = {user_id, other_id}
        for channel in self.channels.values():
            if channel.type == DM_CHANNEL and set(channel.recipient_ids) == pair:
                return channel
        channel = Channel(
            id=self.ids.next(), guild_id=None, name="", type=DM_CHANNEL, recipient_ids=sorted(pair)
        )
        self.channels[channel.id] = channel
        self.channel_messages[channel.id] = []
        return channel

    def share_a_guild(self, user_id: int, other_id: int) -> bool:
        return any(user_id in g.members and other_id in g.members for g in self.guilds.values())

    def accepts_dms_from(self, user_id: int, bot_user_id: int) -> bool:
        """Whether a bot may DM the user: they share a server and the user's DMs are open."""
        return user_id not in self.dms_closed and self.share_a_guild(bot_user_id, user_id)

    # -- look-ups -------------------------------------------------------------------------------

    def application_by_token(self, token: str) -> Application | None:
        for app in self.applications.values():
            if secrets.compare_digest(app.token, token):
                return app
        return None

    def require_user(self, user_id: int) -> User:
        try:
            return self.users[user_id]
        except KeyError:
            raise ValueError(f"unknown user {user_id}") from None

    def require_guild(self, guild_id: int) -> Guild:
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise ValueError(f"unknown guild {guild_id}") from None

    def require_channel(self, channel_id: int) -> Channel:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise ValueError(f"unknown channel {channel_id}") from None

    def member(self, guild_id: int, user_id: int) -> Member | None:
        guild = self.guilds.get(guild_id)
        return None if guild is None else guild.members.get(user_id)

    def guilds_of(self, user_id: int) -> list[Guild]:
        return [g for g in self.guilds.values() if user_id in g.members]

    def visible_messages(self, channel_id: int) -> list[Message]:
        return [m for m in self.channel_messages.get(channel_id, []) if not m.deleted]

    def recent_with_nonce(
        self, channel_id: int, author_id: int, nonce: str | int, window: float
    ) -> Message | None:
        """The author's latest message in the channel with this nonce, sent within ``window``
        seconds and not deleted."""
        now = time.time()
        for message in reversed(self._with_nonce.get((channel_id, author_id, nonce), [])):
            if now - message.created_at.timestamp() > window:
                return None
            if not message.deleted:
                return message
        return None

    def add_thread(self, thread: Channel) -> None:
        """A thread is a channel (routes find it by id) but not one of the guild's channels."""
        self.channels[thread.id] = thread
        self.channel_messages[thread.id] = []

    def threads_of(self, guild_id: int) -> list[Channel]:
        return [
            c for c in self.channels.values() if c.guild_id == guild_id and c.thread is not None
        ]

    def add_message(self, message: Message) -> None:
        message.world = self
        self.messages[message.id] = message
        if message.nonce is not None:
            key = (message.channel_id, message.author_id, message.nonce)
            self._with_nonce.setdefault(key, []).append(message)
        self.channel_messages.setdefault(message.channel_id, []).append(message)
        channel = self.channels.get(message.channel_id)
        if channel is not None and not message.ephemeral:
            channel.last_message_id = message.id
            starter = message.type == THREAD_STARTER_MESSAGE or message.id == channel.id
            if channel.thread is not None and not starter:
                # Posting in a thread joins it; the starter message (a forum post's first
                # message, which has the thread's id) is not counted.
                channel.thread.message_count += 1
                channel.thread.total_message_sent += 1
                channel.thread.join(message.author_id, message.created_at)

    # -- permissions ----------------------------------------------------------------------------

    def guild_permissions(self, guild_id: int, user_id: int) -> int:
        guild = self.guilds.get(guild_id)
        if guild is None:
            return 0
        member = guild.members.get(user_id)
        if member is None:
            return 0
        everyone = guild.roles[guild.id].permissions
        role_bits = [guild.roles[r].permissions for r in member.roles if r in guild.roles]
        return perms.base_permissions(everyone, role_bits, is_owner=guild.owner_id == user_id)

    def channel_permissions(self, channel_id: int, user_id: int) -> int:
        """A member's permissions in a channel; a thread has its parent's (docs: topics/threads),
        and a private thread is seen only by its members and moderators (MANAGE_THREADS)."""
        channel = self.channels.get(channel_id)
        if channel is None or channel.guild_id is None:
            return 0
        member = self.guilds[channel.guild_id].members.get(user_id)
        if member is None:
            return 0
        if channel.thread is None:
            return self._overwritten(channel, member, perms.P.SEND_MESSAGES)
        parent = self.channels.get(channel.parent_id or 0)
        if parent is None:
            return 0
        permissions = self._overwritten(parent, member, perms.P.SEND_MESSAGES_IN_THREADS)
        if (
            channel.type == PRIVATE_THREAD
            and user_id not in channel.thread.members
            and not permissions & perms.P.MANAGE_THREADS
        ):
            return 0
        return permissions

    def _overwritten(self, channel: Channel, member: Member, send_bit: int) -> int:
        """Guild permissions with ``channel``'s overwrites applied (ADMINISTRATOR skips them)."""
        guild_id = member.guild_id
        base = self.guild_permissions(guild_id, member.user_id)
        if base & perms.P.ADMINISTRATOR:
            return perms.ALL_PERMISSIONS

        def bits(overwrite: Overwrite | None) -> perms.OverwriteBits | None:
            if overwrite is None:
                return None
            return perms.OverwriteBits(allow=overwrite.allow, deny=overwrite.deny)

        everyone = bits(channel.overwrites.get(guild_id))
        role_overwrites = [
            perms.OverwriteBits(allow=o.allow, deny=o.deny)
            for role_id in member.roles
            if (o := channel.overwrites.get(role_id)) is not None and o.type == 0
        ]
        member_ow = channel.overwrites.get(member.user_id)
        member_bits = bits(member_ow) if member_ow is not None and member_ow.type == 1 else None
        return perms.channel_permissions(
            base, everyone, role_overwrites, member_bits, send_bit=send_bit
        )

    def participant_permissions(self, channel: Channel, user_id: int) -> int:
        """What a user may do in a channel they take part in (a DM's recipients get the fixed
        DM set); ``PermissionError`` for a DM they are not in or a guild they are not in."""
        if channel.guild_id is None:
            if user_id not in channel.recipient_ids:
                raise PermissionError(f"user {user_id} is not part of DM channel {channel.id}")
            return int(
                perms.P.VIEW_CHANNEL
                | perms.P.SEND_MESSAGES
                | perms.P.EMBED_LINKS
                | perms.P.READ_MESSAGE_HISTORY
                | perms.P.ADD_REACTIONS
            )
        if self.member(channel.guild_id, user_id) is None:
            raise PermissionError(f"user {user_id} is not a member of guild {channel.guild_id}")
        return self.channel_permissions(channel.id, user_id)

    def bot_role(self, guild_id: int, bot_user_id: int) -> Role | None:
        guild = self.guilds.get(guild_id)
        if guild is None:
            return None
        for role in guild.roles.values():
            if role.bot_id == bot_user_id:
                return role
        return None


def _make_token(app_id: int) -> str:
    """A token shaped like Discord's: base64 user id, timestamp part, HMAC part."""
    head = base64.urlsafe_b64encode(str(app_id).encode()).decode().rstrip("=")
    middle = secrets.token_urlsafe(4)[:6]
    tail = secrets.token_urlsafe(27)[:38]
    return f"{head}.{middle}.{tail}"
