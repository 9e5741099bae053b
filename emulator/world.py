"""The in-memory Discord: every record, their indexes, and permission look-ups.

The world is pure state with no I/O; ``DiscordEmulator`` combines it with the gateway so that
changes made here can be announced to connected bots.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable

from . import permissions as perms
from .snowflakes import SnowflakeGenerator
from .state import (
    DM_CHANNEL,
    TEXT_CHANNEL,
    THREAD_STARTER_MESSAGE,
    Application,
    Channel,
    Guild,
    Member,
    Message,
    Overwrite,
    Role,
    User,
)


class World:
    def __init__(self) -> None:
        self.ids = SnowflakeGenerator()
        self.users: dict[int, User] = {}
        self.applications: dict[int, Application] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.roles: dict[int, Role] = {}
        self.messages: dict[int, Message] = {}
        self.channel_messages: dict[int, list[Message]] = {}

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
        self.channel_messages.setdefault(message.channel_id, []).append(message)
        channel = self.channels.get(message.channel_id)
        if channel is not None and not message.ephemeral:
            channel.last_message_id = message.id
            if channel.thread is not None and message.type != THREAD_STARTER_MESSAGE:
                # Posting in a thread joins it; the starter message is not counted.
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
        """A member's permissions in a channel; a thread has its parent's (docs: topics/threads)."""
        channel = self.channels.get(channel_id)
        if channel is None or channel.guild_id is None:
            return 0
        send_bit = perms.P.SEND_MESSAGES
        guild = self.guilds[channel.guild_id]
        if channel.thread is not None:
            parent = self.channels.get(channel.parent_id or 0)
            if parent is None:
                return 0
            channel, send_bit = parent, perms.P.SEND_MESSAGES_IN_THREADS
        member = guild.members.get(user_id)
        if member is None:
            return 0
        base = self.guild_permissions(guild.id, user_id)
        if base & perms.P.ADMINISTRATOR:
            return perms.ALL_PERMISSIONS

        def bits(overwrite: Overwrite | None) -> perms.OverwriteBits | None:
            if overwrite is None:
                return None
            return perms.OverwriteBits(allow=overwrite.allow, deny=overwrite.deny)

        everyone = bits(channel.overwrites.get(guild.id))
        role_overwrites = [
            perms.OverwriteBits(allow=o.allow, deny=o.deny)
            for role_id in member.roles
            if (o := channel.overwrites.get(role_id)) is not None and o.type == 0
        ]
        member_ow = channel.overwrites.get(user_id)
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
