"""``DiscordEmulator``: a local Discord (REST v10 + gateway) that an unmodified discord.py talks to.

Tests build a world (applications, users, guilds, roles, channels, members), act as users
(send messages and replies, start threads and forum posts, react, delete messages, run slash
commands and context menus, press buttons, submit modals) and inspect what the bot did
(messages, interaction responses, pings, every REST request). Faults (429s, reconnects, dropped
connections, invalidated sessions, duplicate deliveries) can be injected. All state is in memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType

from aiohttp import web

from .actions import UserActions
from .commands import CommandRegistry
from .conversation import ConversationActions
from .forums import ForumActions
from .gateway import GatewayHub, GatewaySession, Listener
from .intents import PRIVILEGED_INTENTS
from .interactions import Interaction
from .messages import MessageService
from .ratelimits import RateLimiter, RouteLimit
from .reactions import ReactionService
from .responses import InteractionResponder
from .rest import RecordedRequest
from .server import GATEWAY_PATH, RESUME_GATEWAY_PATH, build_app
from .state import (
    Application,
    Channel,
    ForumTag,
    Guild,
    Member,
    Message,
    Overwrite,
    Payload,
    Role,
    User,
)
from .threads import ThreadService
from .world import World


@dataclass
class _Outage:
    """Matching requests fail with ``status`` until ``left`` of them have."""

    method: str
    prefix: str
    status: int
    left: int


log = logging.getLogger(__name__)


class DiscordEmulator(UserActions, ConversationActions, ForumActions):
    def __init__(
        self,
        *,
        interaction_deadline: float = 3.0,
        followup_window: float = 900.0,
        global_rate_limit: int = 50,
        heartbeat_interval_ms: int = 41250,
        route_limits: Mapping[str, RouteLimit] | None = None,
    ) -> None:
        self.world = World()
        self.hub = GatewayHub(self.world, heartbeat_interval_ms=heartbeat_interval_ms)
        self.message_service = MessageService(self.world, self.hub)
        self.thread_service = ThreadService(self.world, self.hub, self.message_service)
        self.reaction_service = ReactionService(self.world, self.hub)
        self.command_registry = CommandRegistry(self.world.ids)
        self.responder = InteractionResponder(
            self.world,
            self.message_service,
            self.hub.notify,
            deadline=interaction_deadline,
            followup_window=followup_window,
        )
        self.rate_limiter = RateLimiter(global_rate_limit, route_limits)
        self.requests: list[RecordedRequest] = []
        # Called with each request as it is recorded: the load runner times interactions so.
        self.request_listeners: list[Callable[[RecordedRequest], None]] = []
        self.internal_errors: list[BaseException] = []
        self.interactions: list[Interaction] = []
        self._holds: list[tuple[str, str, asyncio.Event]] = []
        self._outages: list[_Outage] = []
        # How long Discord remembers a message's nonce to drop a duplicate sent with
        # enforce_nonce (a few minutes); 0 turns that off, for tests of what must not rely on it.
        self.nonce_window = 300.0
        self.host = "127.0.0.1"
        self.port = 0
        self._runner: web.AppRunner | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if self._runner is not None:
            raise RuntimeError("emulator already started")
        runner = web.AppRunner(
            build_app(self), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self.host = host
        self.port = int(runner.addresses[0][1])
        self.hub.resume_url = f"ws://{host}:{self.port}{RESUME_GATEWAY_PATH}"

    async def stop(self) -> None:
        if self._runner is None:
            return
        self.hub.close_all()
        for connection in list(self.hub.connections):
            if not connection.writer.done():
                try:
                    await connection.writer
                except Exception:  # the peer may already be gone
                    log.debug("gateway writer ended with an error during stop", exc_info=True)
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> DiscordEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def api_base_url(self) -> str:
        return f"http://{self.host}:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}{GATEWAY_PATH}"

    @property
    def gateway_base_url(self) -> str:
        return self.gateway_url

    # -- world building -------------------------------------------------------------------------

    def create_application(
        self,
        name: str = "PLN Coach",
        token: str | None = None,
        *,
        privileged_intents: int = PRIVILEGED_INTENTS,
        owner_id: int | None = None,
    ) -> Application:
        """An application with its bot user (same id). Privileged intents default to enabled."""
        app = self.world.create_application(name, token, privileged_intents=privileged_intents)
        if owner_id is None:
            owner_id = self.world.create_user(f"{name.lower().replace(' ', '')}_developer").id
        app.owner_id = owner_id
        return app

    def create_user(
        self, username: str, *, bot: bool = False, global_name: str | None = None
    ) -> User:
        return self.world.create_user(username, bot=bot, global_name=global_name)

    def create_guild(self, name: str, owner_id: int) -> Guild:
        return self.world.create_guild(name, owner_id)

    def create_role(
        self,
        guild_id: int,
        name: str,
        *,
        permissions: int = 0,
        mentionable: bool = False,
        color: int = 0,
        hoist: bool = False,
    ) -> Role:
        role = self.world.create_role(
            guild_id,
            name,
            permissions=permissions,
            mentionable=mentionable,
            color=color,
            hoist=hoist,
        )
        self._emit_role_event("GUILD_ROLE_CREATE", role)
        return role

    def edit_role(
        self,
        role_id: int,
        *,
        name: str | None = None,
        permissions: int | None = None,
        mentionable: bool | None = None,
    ) -> Role:
        """Change a role (the @everyone role's id is the guild id); dispatches GUILD_ROLE_UPDATE."""
        role = self.world.roles.get(role_id)
        if role is None:
            raise ValueError(f"unknown role {role_id}")
        if name is not None:
            role.name = name
        if permissions is not None:
            role.permissions = permissions
        if mentionable is not None:
            role.mentionable = mentionable
        self._emit_role_event("GUILD_ROLE_UPDATE", role)
        return role

    def _emit_role_event(
        self, event: str, role: Role, *, exclude_application_id: int | None = None
    ) -> None:
        """GUILD_ROLE_CREATE/UPDATE: the role with its guild id, to that guild's sessions."""
        self.hub.emit(
            event,
            {"guild_id": str(role.guild_id), "role": role.to_payload()},
            guild_id=role.guild_id,
            exclude_application_id=exclude_application_id,
        )

    def create_text_channel(self, guild_id: int, name: str, topic: str | None = None) -> Channel:
        channel = self.world.create_text_channel(guild_id, name, topic=topic)
        self.hub.emit("CHANNEL_CREATE", channel.to_payload(), guild_id=guild_id)
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
    ) -> Channel:
        """A forum channel (type 15) whose posts can carry ``tags``: names, or ``ForumTag``
        objects for a moderated tag or one with an emoji. ``require_tag`` sets REQUIRE_TAG.
        Dispatches CHANNEL_CREATE; the tags are ``channel.forum.available_tags``."""
        channel = self.world.create_forum_channel(
            guild_id,
            name,
            tags,
            require_tag=require_tag,
            topic=topic,
            default_reaction_emoji=default_reaction_emoji,
        )
        self.hub.emit("CHANNEL_CREATE", channel.to_payload(), guild_id=guild_id)
        return channel

    def add_member(
        self,
        guild_id: int,
        user_id: int,
        roles: Iterable[int] = (),
        nick: str | None = None,
        *,
        bot_permissions: int = 0,
    ) -> Member:
        """Add a user to a guild: GUILD_CREATE to a joining bot, GUILD_MEMBER_ADD to the others.

        A bot user invited with ``bot_permissions`` also gets the managed role Discord creates.
        """
        guild = self.world.require_guild(guild_id)
        existed = user_id in guild.members
        member = self.world.add_member(guild_id, user_id, roles, nick)
        app = self.world.applications.get(user_id)
        if existed:
            payload = {**member.to_payload(), "guild_id": str(guild_id)}
            self.hub.emit("GUILD_MEMBER_UPDATE", payload, guild_id=guild_id)
            return member
        if app is not None:
            role = self.world.bot_role(guild_id, user_id)
            if role is None and bot_permissions:
                # Discord creates the managed role only when the invite asked for permissions.
                role = self.world.create_role(
                    guild_id, app.name, permissions=bot_permissions, managed=True, bot_id=user_id
                )
            if role is not None and role.id not in member.roles:
                member.roles.append(role.id)
            self.hub.send_guild_create(guild, app)
            if role is not None:
                self._emit_role_event("GUILD_ROLE_CREATE", role, exclude_application_id=app.id)
        self.hub.emit(
            "GUILD_MEMBER_ADD",
            {**member.to_payload(), "guild_id": str(guild_id)},
            guild_id=guild_id,
        )
        return member

    def remove_member(self, guild_id: int, user_id: int) -> None:
        guild = self.world.require_guild(guild_id)
        member = guild.members.get(user_id)
        if member is None:
            raise ValueError(f"user {user_id} is not a member of guild {guild_id}")
        payload = {"guild_id": str(guild_id), "user": member.user.to_payload()}
        self.hub.emit("GUILD_MEMBER_REMOVE", payload, guild_id=guild_id)
        if user_id in self.world.applications:
            self.hub.emit("GUILD_DELETE", {"id": str(guild_id)}, guild_id=guild_id)
        del guild.members[user_id]

    def close_dms(self, user_id: int) -> None:
        """The user turns direct messages off (Privacy settings, or blocks the bot): from now on
        a bot's message to their DM channel is refused with 403, code 50007, as Discord does.
        Opening the DM channel still works; only sending is refused."""
        self.world.require_user(user_id)
        self.world.dms_closed.add(user_id)

    def open_dms(self, user_id: int) -> None:
        """The user allows direct messages again (``close_dms`` undone)."""
        self.world.require_user(user_id)
        self.world.dms_closed.discard(user_id)

    def bot_role(self, guild_id: int, bot_user_id: int) -> Role | None:
        """The managed role Discord creates for a bot when it joins a guild."""
        return self.world.bot_role(guild_id, bot_user_id)

    def set_permission_overwrite(
        self,
        channel_id: int,
        target_id: int,
        *,
        allow: int = 0,
        deny: int = 0,
        type: int = 0,
        notify: bool = True,
    ) -> None:
        """Set a role (type 0) or member (type 1) overwrite on a channel (CHANNEL_UPDATE).

        ``notify=False`` changes it without the CHANNEL_UPDATE, as when a bot's cache misses an
        update: the bot believes it may post and learns otherwise from a 403.
        """

        channel = self.world.require_channel(channel_id)
        if channel.guild_id is None:
            raise ValueError("DM channels have no permission overwrites")
        guild = self.world.guilds[channel.guild_id]
        if type == 0 and target_id not in guild.roles:
            raise ValueError(f"{target_id} is not a role of guild {guild.id}")
        if type == 1 and target_id not in self.world.users:
            raise ValueError(f"unknown user {target_id}")
        if type not in (0, 1):
            raise ValueError("type must be 0 (role) or 1 (member)")
        channel.overwrites[target_id] = Overwrite(id=target_id, type=type, allow=allow, deny=deny)
        if notify:
            self.hub.emit("CHANNEL_UPDATE", channel.to_payload(), guild_id=guild.id)

    def remove_channel(self, channel_id: int) -> None:
        """Delete a channel (CHANNEL_DELETE) with its threads, or a thread (THREAD_DELETE)."""
        channel = self.world.require_channel(channel_id)
        if channel.thread is not None:
            self.thread_service.delete(channel)
            return
        for thread in self.threads_in(channel_id):
            # Discord deletes them with the parent; clients drop them on CHANNEL_DELETE.
            self.world.channels.pop(thread.id, None)
        payload = channel.to_payload()
        self.hub.emit("CHANNEL_DELETE", payload, guild_id=channel.guild_id)
        del self.world.channels[channel_id]
        if channel.guild_id is not None:
            self.world.guilds[channel.guild_id].channels.pop(channel_id, None)

    # -- inspection -----------------------------------------------------------------------------

    def messages_in(self, channel_id: int) -> list[Message]:
        return self.world.visible_messages(channel_id)

    def get_message(self, message_id: int) -> Message | None:
        return self.world.messages.get(message_id)

    def threads_in(self, channel_id: int) -> list[Channel]:
        """The threads started in a text channel, or the posts of a forum (archived or not)."""
        return [c for c in self.world.channels.values() if c.thread and c.parent_id == channel_id]

    def commands(self, application_id: int, guild_id: int | None = None) -> list[Payload]:
        return self.command_registry.list_commands(application_id, guild_id)

    @property
    def command_writes(self) -> int:
        return self.command_registry.writes

    def add_listener(self, callback: Listener) -> None:
        self.hub.listeners.append(callback)

    def remove_listener(self, callback: Listener) -> None:
        self.hub.listeners.remove(callback)

    async def wait_until_ready(self, timeout: float = 10) -> None:  # noqa: ASYNC109 - public API
        await self.hub.wait_until_ready(timeout)

    @property
    def gateway_sessions(self) -> list[GatewaySession]:
        return list(self.hub.sessions)

    # -- faults ---------------------------------------------------------------------------------

    def inject_rate_limit(
        self,
        method: str,
        route_prefix: str,
        *,
        count: int = 1,
        retry_after: float = 0.3,
        is_global: bool = False,
    ) -> None:
        """The next ``count`` requests whose path (or route template) starts so get a 429."""
        prefix = route_prefix.removeprefix("/api/v10")
        self.rate_limiter.inject(
            method, prefix, count=count, retry_after=retry_after, is_global=is_global
        )

    def inject_outage(
        self, method: str, route_prefix: str, *, count: int = 1, status: int = 503
    ) -> None:
        """The next ``count`` matching requests fail with a 5xx, as during a Discord incident.

        (discord.py itself retries 500, 502 and 504 a few times; a 503 reaches the bot.)
        """
        self._outages.append(
            _Outage(method.upper(), route_prefix.removeprefix("/api/v10"), status, count)
        )

    def take_outage(self, method: str, path: str, route: str) -> int | None:
        """The status an injected outage answers this request with, if one matches."""
        for outage in self._outages:
            matches = path.startswith(outage.prefix) or route.startswith(outage.prefix)
            if method == outage.method and matches:
                outage.left -= 1
                if outage.left <= 0:
                    self._outages.remove(outage)
                return outage.status
        return None

    def hold_requests(self, method: str, route_prefix: str) -> asyncio.Event:
        """Matching requests wait, before rate limits, until the returned event is set.

        For tests that need a bot's request to stay in flight while something else happens
        (e.g. everything else gets stored before the first post goes out).
        """
        gate = asyncio.Event()
        self._holds.append((method, route_prefix.removeprefix("/api/v10"), gate))
        return gate

    async def wait_for_holds(self, method: str, path: str, route: str) -> None:
        for held_method, prefix, gate in list(self._holds):
            if method == held_method and (path.startswith(prefix) or route.startswith(prefix)):
                await gate.wait()
        self._holds = [hold for hold in self._holds if not hold[2].is_set()]

    async def send_reconnect(self) -> None:
        self.hub.send_reconnect()

    async def drop_connections(self, *, abrupt: bool = False) -> None:
        """Close every websocket (4000, or a TCP reset with ``abrupt``); sessions stay resumable."""
        self.hub.drop_connections(abrupt=abrupt)

    async def invalidate_sessions(self, resumable: bool = False) -> None:
        self.hub.invalidate_sessions(resumable=resumable)

    def replay_last(self, count: int = 1, *, application_id: int | None = None) -> int:
        """Deliver the last ``count`` dispatches of every connected session again, unchanged.

        This is the duplicate delivery a bot meets in production: a RESUME replays from the
        sequence number the client last recorded, so events it had already handled (but whose
        ``s`` it had not yet recorded, e.g. because the socket died mid-batch) arrive twice.
        The frames keep their original ``s``; the last one re-sent is the newest, so the
        client's sequence ends where it was. discord.py does not deduplicate: it simply stores
        each frame's ``s`` and dispatches the event again (``on_message``,
        ``on_raw_reaction_add``, ... fire twice; its message cache even gets the message twice),
        so recognising repeats is the bot's job. The buffer also holds READY, GUILD_CREATE and
        RESUMED, so keep ``count`` to the events just emitted. Returns the frames re-sent.
        """
        return self.hub.replay_last(count, application_id=application_id)
