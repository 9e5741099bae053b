"""The emulator's records: users, applications, guilds, roles, channels, members, messages.

Each record is a plain dataclass that tests can inspect; ``to_payload()`` renders the object the
way Discord's REST API does (ids as strings, every documented field present), which is also what
the gateway sends. Records that need related objects to render (a message needs its author)
hold a reference to the ``World`` that owns them.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .snowflakes import iso, snowflake_time

if TYPE_CHECKING:
    from .reactions import Reaction
    from .world import World

Payload = dict[str, Any]

EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_EMBEDS = 1 << 2
SUPPRESS_NOTIFICATIONS = 1 << 12
IS_COMPONENTS_V2 = 1 << 15
HAS_THREAD = 1 << 5  # the message started a thread, which has the message's id

TEXT_CHANNEL = 0
DM_CHANNEL = 1
CATEGORY_CHANNEL = 4
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
FORUM_CHANNEL = 15

# Channel flags (resources/channel, Channel Flags).
PINNED = 1 << 1  # a post pinned to the top of its forum
REQUIRE_TAG = 1 << 4  # a forum's posts must carry at least one tag

REPLY = 19
THREAD_STARTER_MESSAGE = 21
# Message types whose payload resolves ``message_reference`` into ``referenced_message``.
REFERENCING_TYPES = (REPLY, THREAD_STARTER_MESSAGE)


@dataclass(eq=False)
class User:
    id: int
    username: str
    bot: bool = False
    global_name: str | None = None

    def to_payload(self) -> Payload:
        payload: Payload = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "avatar_decoration_data": None,
            "banner": None,
            "accent_color": None,
            "public_flags": 0,
            "flags": 0,
            "collectibles": None,
            "primary_guild": None,
        }
        if self.bot:
            payload["bot"] = True
        return payload


@dataclass(eq=False)
class Application:
    id: int
    token: str
    bot_user: User
    name: str
    owner_id: int | None = None
    # Privileged gateway intents switched on in the developer portal (bits of the intents field).
    privileged_intents: int = 0
    description: str = ""

    @property
    def flags(self) -> int:
        # GATEWAY_PRESENCE_LIMITED, GATEWAY_GUILD_MEMBERS_LIMITED, GATEWAY_MESSAGE_CONTENT_LIMITED
        flags = 0
        if self.privileged_intents & (1 << 8):
            flags |= 1 << 13
        if self.privileged_intents & (1 << 1):
            flags |= 1 << 15
        if self.privileged_intents & (1 << 15):
            flags |= 1 << 19
        return flags

    def to_payload(self, owner: User | None = None) -> Payload:
        owner_user = owner or self.bot_user
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "description": self.description,
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": f"{self.id:064x}"[-64:],
            "flags": self.flags,
            "owner": owner_user.to_payload(),
            "team": None,
            "bot": self.bot_user.to_payload(),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "tags": [],
            "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
            "integration_types_config": {"0": {}, "1": {}},
            "approximate_guild_count": 0,
        }


@dataclass(eq=False)
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int = 0
    mentionable: bool = False
    position: int = 0
    color: int = 0
    hoist: bool = False
    managed: bool = False
    bot_id: int | None = None

    def to_payload(self) -> Payload:
        payload: Payload = {
            "id": str(self.id),
            "name": self.name,
            "description": None,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": self.hoist,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.bot_id is not None:
            payload["tags"] = {"bot_id": str(self.bot_id)}
        return payload


@dataclass(eq=False)
class Overwrite:
    id: int
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0

    def to_payload(self) -> Payload:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass(eq=False)
class Channel:
    id: int
    guild_id: int | None
    name: str
    type: int = TEXT_CHANNEL
    topic: str | None = None
    position: int = 0
    parent_id: int | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    last_message_id: int | None = None
    recipient_ids: list[int] = field(default_factory=list)
    flags: int = 0
    # Threads only: who started it, and the thread's own state.
    owner_id: int | None = None
    thread: ThreadState | None = None
    # Forum channels only: what a post can be tagged with and the post defaults.
    forum: ForumSettings | None = None

    @property
    def is_thread(self) -> bool:
        return self.thread is not None

    @property
    def is_forum(self) -> bool:
        return self.type == FORUM_CHANNEL

    def to_payload(self) -> Payload:
        if self.thread is not None:
            return self._thread_payload(self.thread)
        if self.guild_id is None:
            return {
                "id": str(self.id),
                "type": self.type,
                "last_message_id": _str_or_none(self.last_message_id),
                "flags": 0,
                "recipients": [],
            }
        payload: Payload = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [o.to_payload() for o in self.overwrites.values()],
            "topic": self.topic,
            "nsfw": self.nsfw,
            "last_message_id": _str_or_none(self.last_message_id),
            "rate_limit_per_user": self.rate_limit_per_user,
            "parent_id": _str_or_none(self.parent_id),
            "flags": self.flags,
        }
        if self.forum is not None:
            payload.update(self.forum.to_payload())
        return payload

    def _thread_payload(self, thread: ThreadState) -> Payload:
        """A thread as documented: no overwrites (it inherits its parent's), an owner, counters
        and ``thread_metadata``; a forum post also its ``applied_tags``."""
        payload: Payload = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "parent_id": _str_or_none(self.parent_id),
            "owner_id": _str_or_none(self.owner_id),
            "name": self.name,
            "last_message_id": _str_or_none(self.last_message_id),
            "rate_limit_per_user": self.rate_limit_per_user,
            "flags": self.flags,
            "message_count": thread.message_count,
            "member_count": min(len(thread.members), 50),
            "total_message_sent": thread.total_message_sent,
            "thread_metadata": thread.metadata_payload(private=self.type == PRIVATE_THREAD),
        }
        if thread.applied_tags is not None:
            payload["applied_tags"] = [str(t) for t in thread.applied_tags]
        return payload


@dataclass(eq=False)
class ForumTag:
    """A tag a forum's posts can carry (resources/channel, Forum Tag Object)."""

    id: int
    name: str
    moderated: bool = False
    emoji_id: int | None = None
    emoji_name: str | None = None

    def to_payload(self) -> Payload:
        return {
            "id": str(self.id),
            "name": self.name,
            "moderated": self.moderated,
            "emoji_id": _str_or_none(self.emoji_id),
            "emoji_name": self.emoji_name,
        }


@dataclass(eq=False)
class ForumSettings:
    """What only a GUILD_FORUM channel has: its tags and what new posts start with."""

    available_tags: list[ForumTag] = field(default_factory=list)
    default_reaction_emoji: str | None = None
    default_auto_archive_duration: int = 1440
    default_thread_rate_limit_per_user: int = 0

    def tag(self, tag_id: int) -> ForumTag | None:
        return next((t for t in self.available_tags if t.id == tag_id), None)

    def tag_named(self, name: str) -> ForumTag | None:
        return next((t for t in self.available_tags if t.name == name), None)

    def to_payload(self) -> Payload:
        reaction = None
        if self.default_reaction_emoji is not None:
            reaction = {"emoji_id": None, "emoji_name": self.default_reaction_emoji}
        return {
            "available_tags": [t.to_payload() for t in self.available_tags],
            "default_reaction_emoji": reaction,
            "default_auto_archive_duration": self.default_auto_archive_duration,
            "default_thread_rate_limit_per_user": self.default_thread_rate_limit_per_user,
            "default_sort_order": None,
            "default_forum_layout": 0,
        }


@dataclass(eq=False)
class ThreadState:
    """What only a thread has: its metadata, message counters and who joined it.

    Discord counts messages without the starter message; ``message_count`` drops when one is
    deleted, ``total_message_sent`` never does. Posting in a thread joins it.
    """

    created_at: datetime.datetime
    auto_archive_duration: int = 1440
    archived: bool = False
    locked: bool = False
    message_count: int = 0
    total_message_sent: int = 0
    members: dict[int, datetime.datetime] = field(default_factory=dict)
    # Forum posts only (None for threads in text channels, whose payload has no applied_tags).
    applied_tags: list[int] | None = None
    invitable: bool = True  # private threads only
    archived_at: datetime.datetime | None = None

    def join(self, user_id: int, at: datetime.datetime) -> None:
        self.members.setdefault(user_id, at)

    def metadata_payload(self, *, private: bool = False) -> Payload:
        payload: Payload = {
            "archived": self.archived,
            "auto_archive_duration": self.auto_archive_duration,
            "archive_timestamp": iso(self.archived_at or self.created_at),
            "locked": self.locked,
            "create_timestamp": iso(self.created_at),
        }
        if private:
            payload["invitable"] = self.invitable
        return payload

    def member_payload(self, thread_id: int, user_id: int, *, with_ids: bool = True) -> Payload:
        """A thread member object; GUILD_CREATE leaves out ``id`` and ``user_id``."""
        payload: Payload = {"join_timestamp": iso(self.members[user_id]), "flags": 0}
        if with_ids:
            payload = {"id": str(thread_id), "user_id": str(user_id), **payload}
        return payload


@dataclass(eq=False)
class Member:
    guild_id: int
    user: User
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: datetime.datetime = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC)
    )

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def user_id(self) -> int:
        return self.user.id

    def to_payload(self, *, with_user: bool = True, voice: bool = True) -> Payload:
        payload: Payload = {
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in self.roles],
            "joined_at": iso(self.joined_at),
            "premium_since": None,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
            "avatar_decoration_data": None,
        }
        if voice:
            payload["deaf"] = False
            payload["mute"] = False
        if with_user:
            payload["user"] = self.user.to_payload()
        return payload


@dataclass(eq=False)
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    preferred_locale: str = "en-US"
    # Where Discord posts its own join messages (Server Settings > System Messages Channel).
    system_channel_id: int | None = None

    def to_payload(self) -> Payload:
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "icon_hash": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(self.owner_id),
            "region": "deprecated",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [r.to_payload() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": str(self.system_channel_id) if self.system_channel_id else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "max_presences": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": self.preferred_locale,
            "public_updates_channel_id": None,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "safety_alerts_channel_id": None,
            "incidents_data": None,
        }


@dataclass
class Pings:
    """Who a message really notifies, after allowed_mentions and permissions were applied."""

    everyone: bool = False
    users: set[int] = field(default_factory=set)
    roles: set[int] = field(default_factory=set)

    @property
    def any(self) -> bool:
        return self.everyone or bool(self.users) or bool(self.roles)


@dataclass(eq=False)
class Message:
    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str = ""
    embeds: list[Payload] = field(default_factory=list)
    components: list[Payload] = field(default_factory=list)
    flags: int = 0
    message_reference: Payload | None = None
    nonce: str | int | None = None
    pings: Pings = field(default_factory=Pings)
    interaction_id: int | None = None
    created_at: datetime.datetime = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC)
    )
    # Everything below is detail of the rendered payload.
    type: int = 0
    tts: bool = False
    pinned: bool = False
    attachments: list[Payload] = field(default_factory=list)
    attachment_data: list[bytes] = field(default_factory=list, repr=False)
    edited_at: datetime.datetime | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: Payload | None = None
    interaction_legacy: Payload | None = None
    mention_user_ids: list[int] = field(default_factory=list)
    mention_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    reactions: list[Reaction] = field(default_factory=list)
    deleted: bool = False
    world: World | None = field(default=None, repr=False)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & LOADING)

    def to_payload(
        self,
        *,
        gateway: bool = False,
        with_reference: bool = True,
        viewer_id: int | None = None,
    ) -> Payload:
        """The message as REST returns it, or (``gateway``) as MESSAGE_CREATE/UPDATE carry it.

        ``reactions`` are only rendered for REST, where ``me`` is about the bot asking
        (``viewer_id``); gateway message events leave them out and reaction events carry the
        changes instead.
        """
        world = self.world
        author = world.users.get(self.author_id) if world else None
        author_payload = (
            author.to_payload()
            if author
            else {
                "id": str(self.author_id),
                "username": "unknown",
                "discriminator": "0",
                "avatar": None,
            }
        )
        payload: Payload = {
            "type": self.type,
            "channel_id": str(self.channel_id),
            "content": self.content,
            "attachments": list(self.attachments),
            "embeds": list(self.embeds),
            "timestamp": iso(snowflake_time(self.id)),
            "edited_timestamp": iso(self.edited_at) if self.edited_at else None,
            "flags": self.flags,
            "components": list(self.components),
            "id": str(self.id),
            "author": author_payload,
            "mentions": [],
            "mention_roles": [str(r) for r in self.mention_role_ids],
            "mention_everyone": self.mention_everyone,
            "pinned": self.pinned,
            "tts": self.tts,
        }
        if world is not None:
            for user_id in self.mention_user_ids:
                user = world.users.get(user_id)
                if user is None:
                    continue
                mention = user.to_payload()
                if gateway and self.guild_id is not None:
                    member = world.member(self.guild_id, user_id)
                    if member is not None:
                        mention["member"] = member.to_payload(with_user=False)
                payload["mentions"].append(mention)
        if self.nonce is not None:
            payload["nonce"] = self.nonce
        if self.webhook_id is not None:
            payload["webhook_id"] = str(self.webhook_id)
        if self.application_id is not None:
            payload["application_id"] = str(self.application_id)
        if self.interaction_metadata is not None:
            payload["interaction_metadata"] = self.interaction_metadata
        if self.interaction_legacy is not None:
            payload["interaction"] = self.interaction_legacy
        if self.message_reference is not None:
            payload["message_reference"] = self.message_reference
            if with_reference and self.type in REFERENCING_TYPES and world is not None:
                ref_id = self.message_reference.get("message_id")
                ref = world.messages.get(int(ref_id)) if ref_id else None
                payload["referenced_message"] = (
                    ref.to_payload(with_reference=False) if ref and not ref.deleted else None
                )
        if self.flags & HAS_THREAD and world is not None:
            thread = world.channels.get(self.id)
            if thread is not None and thread.thread is not None:
                payload["thread"] = thread.to_payload()
        if self.reactions and not gateway:
            payload["reactions"] = [r.to_payload(viewer_id) for r in self.reactions]
        if gateway and self.guild_id is not None:
            payload["guild_id"] = str(self.guild_id)
            if world is not None and self.webhook_id is None:
                member = world.member(self.guild_id, self.author_id)
                if member is not None:
                    payload["member"] = member.to_payload(with_user=False)
        return payload


def _str_or_none(value: int | None) -> str | None:
    return None if value is None else str(value)
