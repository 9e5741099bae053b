"""Acting as Discord users: posting messages and creating interactions the way the client does.

The Discord client validates what a user can submit before the bot ever sees it (the command
exists for this guild, the member may use it, the options fit, the button is on the message, the
modal's inputs are filled in), so these methods raise ``ValueError``/``PermissionError`` for
anything a real user could not do, and otherwise dispatch INTERACTION_CREATE and return a handle.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from . import commands as c
from .commands import CommandRegistry
from .components import find_component, modal_submission, number_components
from .gateway import GatewayHub
from .interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    Interaction,
    interaction_payload,
    new_token,
)
from .messages import MessageService
from .options import OptionError, Resolver, build_command_data
from .permissions import P
from .responses import InteractionResponder
from .state import Application, Channel, Message, Payload
from .threads import ThreadService
from .validation import CONTENT_LIMIT
from .world import World

log = logging.getLogger(__name__)


class UserActions:
    """Mixed into ``DiscordEmulator``; relies on the services it creates."""

    world: World
    hub: GatewayHub
    message_service: MessageService
    command_registry: CommandRegistry
    responder: InteractionResponder
    interactions: list[Interaction]
    thread_service: ThreadService

    def dm_channel(self, user_id: int, other_id: int) -> Channel:
        """The DM channel between two users (e.g. a member and the bot), created on first use."""
        return self.world.dm_channel(user_id, other_id)

    async def send_message(
        self,
        channel_id: int,
        author_id: int,
        content: str,
        reply_to: int | None = None,
        *,
        embeds: Sequence[Payload] = (),
        allowed_mentions: Payload | None = None,
        mention_author: bool = True,
    ) -> Message:
        """A user posts in a channel or thread (MESSAGE_CREATE goes to bots with the right intents).

        ``reply_to`` makes it a reply (type 19) to a message in the same channel; like the
        client's default it pings the replied-to author unless ``mention_author`` is False. In a
        thread SEND_MESSAGES_IN_THREADS is needed instead of SEND_MESSAGES, and posting joins it.
        """
        channel = self.world.require_channel(channel_id)
        author = self.world.require_user(author_id)
        if channel.is_forum:
            raise ValueError("a forum only holds posts: start one with create_forum_post")
        permissions = self.world.participant_permissions(channel, author_id)
        send = P.SEND_MESSAGES_IN_THREADS if channel.is_thread else P.SEND_MESSAGES
        if not permissions & P.VIEW_CHANNEL or not permissions & send:
            raise PermissionError(f"user {author_id} cannot send messages in channel {channel_id}")
        state = channel.thread
        if state is not None and state.locked and not permissions & P.MANAGE_THREADS:
            raise PermissionError(f"thread {channel_id} is locked")
        if len(content) > CONTENT_LIMIT:
            raise ValueError(f"content is longer than {CONTENT_LIMIT} characters")
        if not content.strip() and not embeds:
            raise ValueError("cannot send an empty message")
        body: Payload = {"content": content}
        if embeds:
            body["embeds"] = list(embeds)
        if allowed_mentions is not None:
            body["allowed_mentions"] = allowed_mentions
        if reply_to is not None:
            target = self.world.messages.get(reply_to)
            if (
                target is None
                or target.deleted
                or target.ephemeral
                or target.channel_id != channel_id
            ):
                raise ValueError(f"cannot reply to {reply_to}: it is not a message in {channel_id}")
            body["message_reference"] = {"message_id": str(reply_to), "channel_id": str(channel_id)}
            if not mention_author:
                # What the client sends with the reply ping switched off.
                body["allowed_mentions"] = {
                    "parse": ["users", "roles", "everyone"],
                    **(allowed_mentions or {}),
                    "replied_user": False,
                }
        if state is not None and state.archived:
            self.thread_service.update(channel, archived=False)  # posting unarchives a thread
        return self.message_service.create(
            channel=channel, author=author, body=body, author_permissions=permissions
        )

    def _find_command(
        self, guild_id: int | None, name: str, ctype: int, application_id: int | None
    ) -> Payload:
        apps = [application_id] if application_id is not None else list(self.world.applications)
        for scope_guild in ([guild_id] if guild_id is not None else []) + [None]:
            for app_id in apps:
                command = self.command_registry.find(app_id, scope_guild, name, ctype)
                if command is not None:
                    return command
        raise OptionError(
            f"no registered command named {name!r} (type {ctype}) for guild {guild_id}"
        )

    def _check_can_use(self, command: Payload, channel: Channel, user_id: int) -> None:
        if channel.guild_id is None:
            return
        permissions = self.world.channel_permissions(channel.id, user_id)
        if not permissions & P.VIEW_CHANNEL:
            raise PermissionError(f"user {user_id} cannot see channel {channel.id}")
        if not permissions & P.USE_APPLICATION_COMMANDS:
            raise PermissionError(
                f"user {user_id} may not use application commands in channel {channel.id}"
            )
        required = command.get("default_member_permissions")
        if required is not None:
            needed = int(required)
            guild_permissions = self.world.guild_permissions(channel.guild_id, user_id)
            if (
                needed == 0 and not guild_permissions & P.ADMINISTRATOR
            ) or guild_permissions & needed != needed:
                raise PermissionError(
                    f"user {user_id} lacks the permissions /{command['name']} requires"
                )
        contexts = command.get("contexts")
        if contexts is not None and 0 not in contexts:
            raise PermissionError(f"/{command['name']} cannot be used in guilds")

    def _channel_in_guild(self, guild_id: int, channel_id: int, user_id: int) -> Channel:
        channel = self.world.require_channel(channel_id)
        if channel.guild_id != guild_id:
            raise ValueError(f"channel {channel_id} is not in guild {guild_id}")
        self.world.require_user(user_id)
        if self.world.member(guild_id, user_id) is None:
            raise PermissionError(f"user {user_id} is not a member of guild {guild_id}")
        return channel

    def _dispatch_interaction(
        self,
        *,
        app: Application,
        interaction_type: int,
        channel: Channel,
        user_id: int,
        data: Payload,
        message: Message | None = None,
    ) -> Interaction:
        interaction_id = self.world.ids.next()
        token = new_token(interaction_id)
        user = self.world.users[user_id]
        payload = interaction_payload(
            self.world,
            interaction_id=interaction_id,
            token=token,
            interaction_type=interaction_type,
            application_id=app.id,
            bot_user_id=app.bot_user.id,
            channel=channel,
            user=user,
            data=data,
            message=message.to_payload() if message is not None else None,
        )
        interaction = Interaction(
            world=self.world,
            id=interaction_id,
            token=token,
            type=interaction_type,
            application_id=app.id,
            guild_id=channel.guild_id,
            channel_id=channel.id,
            user_id=user_id,
            payload=payload,
            source_message_id=message.id if message is not None else None,
        )
        self.responder.register(interaction)
        self.interactions.append(interaction)
        if not self.hub.live_sessions(app.id):
            log.warning(
                "interaction %s created while no gateway session of %s is active",
                interaction_id,
                app.name,
            )
        self.hub.emit(
            "INTERACTION_CREATE", payload, application_id=app.id, shard_guild_id=channel.guild_id
        )
        return interaction

    def _command_interaction(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        name: str,
        options: Mapping[str, Any] | None,
        *,
        focused: str | None,
        application_id: int | None,
    ) -> Interaction:
        channel = self._channel_in_guild(guild_id, channel_id, user_id)
        root, *path = name.split()
        command = self._find_command(guild_id, root, c.CHAT_INPUT, application_id)
        self._check_can_use(command, channel, user_id)
        data = build_command_data(
            self.world,
            command,
            path,
            options or {},
            guild=self.world.guilds[guild_id],
            channel_id=channel_id,
            invoker_id=user_id,
            focused=focused,
        )
        app = self.world.applications[int(command["application_id"])]
        kind = AUTOCOMPLETE if focused is not None else APPLICATION_COMMAND
        return self._dispatch_interaction(
            app=app, interaction_type=kind, channel=channel, user_id=user_id, data=data
        )

    async def run_slash_command(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        application_id: int | None = None,
    ) -> Interaction:
        """A member runs ``/name`` ("group sub" for subcommands) with validated options."""
        return self._command_interaction(
            guild_id,
            channel_id,
            user_id,
            name,
            options,
            focused=None,
            application_id=application_id,
        )

    async def run_dm_command(
        self,
        user_id: int,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        application_id: int | None = None,
    ) -> Interaction:
        """A user runs a global ``/name`` in their DM with the bot (context 1, BOT_DM).

        Refused, as the client does, for commands whose ``contexts`` leave DMs out (e.g.
        discord.py's ``guild_only``) or that say ``dm_permission: false``.
        """
        root, *path = name.split()
        command = self._find_command(None, root, c.CHAT_INPUT, application_id)
        contexts = command.get("contexts")
        if (contexts is not None and 1 not in contexts) or command.get("dm_permission") is False:
            raise PermissionError(f"/{root} cannot be used in direct messages")
        app = self.world.applications[int(command["application_id"])]
        self.world.require_user(user_id)
        channel = self.world.dm_channel(user_id, app.bot_user.id)
        data = build_command_data(
            self.world,
            command,
            path,
            options or {},
            guild=None,
            channel_id=channel.id,
            invoker_id=user_id,
        )
        return self._dispatch_interaction(
            app=app,
            interaction_type=APPLICATION_COMMAND,
            channel=channel,
            user_id=user_id,
            data=data,
        )

    async def autocomplete(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        name: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the documented API
        application_id: int | None = None,
    ) -> list[Payload]:
        """A member types into an autocomplete option; returns the bot's choices (type 8)."""
        interaction = self._command_interaction(
            guild_id,
            channel_id,
            user_id,
            name,
            options,
            focused=focused,
            application_id=application_id,
        )
        response = await interaction.wait_response(timeout)
        choices: list[Payload] = list((response.data or {}).get("choices") or [])
        return choices

    async def run_context_command(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        name: str,
        *,
        target_user_id: int | None = None,
        target_message_id: int | None = None,
        application_id: int | None = None,
    ) -> Interaction:
        """A member uses a user (target_user_id) or message (target_message_id) context menu."""
        channel = self._channel_in_guild(guild_id, channel_id, user_id)
        if (target_user_id is None) == (target_message_id is None):
            raise ValueError("give exactly one of target_user_id and target_message_id")
        ctype = c.USER_COMMAND if target_user_id is not None else c.MESSAGE_COMMAND
        command = self._find_command(guild_id, name, ctype, application_id)
        self._check_can_use(command, channel, user_id)
        resolver = Resolver(self.world, self.world.guilds[guild_id], channel_id, user_id)
        data: Payload = {"id": command["id"], "name": command["name"], "type": ctype}
        if target_user_id is not None:
            if not resolver.user(target_user_id):
                raise OptionError(f"unknown user {target_user_id}")
            data["target_id"] = str(target_user_id)
            data["resolved"] = resolver.resolved
        else:
            assert target_message_id is not None
            target = self.world.messages.get(target_message_id)
            if target is None or target.deleted or target.channel_id != channel_id:
                raise OptionError(f"unknown message {target_message_id} in channel {channel_id}")
            data["target_id"] = str(target_message_id)
            data["resolved"] = {"messages": {str(target.id): target.to_payload()}}
        if command.get("guild_id") is not None:
            data["guild_id"] = command["guild_id"]
        app = self.world.applications[int(command["application_id"])]
        return self._dispatch_interaction(
            app=app,
            interaction_type=APPLICATION_COMMAND,
            channel=channel,
            user_id=user_id,
            data=data,
        )

    def _component_source(
        self, message_id: int, user_id: int
    ) -> tuple[Message, Application, Channel]:
        message = self.world.messages.get(message_id)
        if message is None or message.deleted:
            raise ValueError(f"unknown message {message_id}")
        channel = self.world.require_channel(message.channel_id)
        self.world.require_user(user_id)
        if channel.guild_id is not None:
            if self.world.member(channel.guild_id, user_id) is None:
                raise PermissionError(f"user {user_id} is not a member of guild {channel.guild_id}")
            if not self.world.channel_permissions(channel.id, user_id) & P.VIEW_CHANNEL:
                raise PermissionError(f"user {user_id} cannot see channel {channel.id}")
        if message.ephemeral:
            owner = self.responder.by_id.get(message.interaction_id or 0)
            if owner is None or owner.user_id != user_id:
                raise PermissionError(
                    "only the user who received an ephemeral message can use its components"
                )
        app_id = message.application_id if message.application_id is not None else message.author_id
        app = self.world.applications.get(app_id)
        if app is None:
            raise ValueError(f"message {message_id} was not sent by an application")
        return message, app, channel

    def _dispatch_component(
        self,
        app: Application,
        channel: Channel,
        user_id: int,
        message: Message,
        component: Payload,
        data: Payload,
    ) -> Interaction:
        """A MESSAGE_COMPONENT interaction; Discord echoes the component's numeric id in data."""
        if isinstance(component.get("id"), int):
            data["id"] = component["id"]
        return self._dispatch_interaction(
            app=app,
            interaction_type=MESSAGE_COMPONENT,
            channel=channel,
            user_id=user_id,
            data=data,
            message=message,
        )

    async def press_button(self, message_id: int, custom_id: str, user_id: int) -> Interaction:
        message, app, channel = self._component_source(message_id, user_id)
        component = find_component(message.components, custom_id)
        if component is None or component.get("type") != 2:
            raise ValueError(f"message {message_id} has no button with custom_id {custom_id!r}")
        if component.get("disabled"):
            raise ValueError(f"button {custom_id!r} is disabled")
        data: Payload = {"custom_id": custom_id, "component_type": 2}
        return self._dispatch_component(app, channel, user_id, message, component, data)

    async def choose_select(
        self, message_id: int, custom_id: str, values: Sequence[Any], user_id: int
    ) -> Interaction:
        message, app, channel = self._component_source(message_id, user_id)
        component = find_component(message.components, custom_id)
        if component is None or component.get("type") not in (3, 5, 6, 7, 8):
            raise ValueError(
                f"message {message_id} has no select menu with custom_id {custom_id!r}"
            )
        if component.get("disabled"):
            raise ValueError(f"select {custom_id!r} is disabled")
        low, high = component.get("min_values", 1), component.get("max_values", 1)
        if not low <= len(values) <= high:
            raise ValueError(
                f"select {custom_id!r} takes between {low} and {high} values, got {len(values)}"
            )
        data: Payload = {"custom_id": custom_id, "component_type": component["type"]}
        if component["type"] == 3:
            allowed = [o["value"] for o in component.get("options", [])]
            unknown = [v for v in values if v not in allowed]
            if unknown:
                raise ValueError(f"{unknown} are not options of select {custom_id!r}: {allowed}")
            data["values"] = list(values)
        else:
            data["values"], data["resolved"] = self._resolve_select(
                component["type"], values, channel, user_id
            )
        return self._dispatch_component(app, channel, user_id, message, component, data)

    def _resolve_select(
        self, component_type: int, values: Sequence[Any], channel: Channel, user_id: int
    ) -> tuple[list[str], Payload]:
        guild = self.world.guilds.get(channel.guild_id) if channel.guild_id is not None else None
        resolver = Resolver(self.world, guild, channel.id, user_id)
        ids = []
        for value in values:
            target = int(getattr(value, "id", value))
            ok = {
                5: lambda t: resolver.user(t),
                6: lambda t: resolver.role(t),
                7: lambda t: resolver.user(t) or resolver.role(t),
                8: lambda t: resolver.channel(t, None),
            }[component_type](target)
            if not ok:
                raise ValueError(
                    f"{target} cannot be selected in a select of type {component_type}"
                )
            ids.append(str(target))
        return ids, dict(resolver.resolved)

    async def submit_modal(
        self,
        previous: Interaction,
        values: Mapping[str, str | Sequence[str]],
        user_id: int | None = None,
    ) -> Interaction:
        """Submit the modal the bot answered ``previous`` with (callback type 9)."""
        modal = previous.modal
        if modal is None:
            raise ValueError(f"interaction {previous.id} was not answered with a modal")
        user_id = previous.user_id if user_id is None else user_id
        components = number_components(modal.get("components") or [])
        known: set[str] = set()
        submitted = [modal_submission(component, values, known) for component in components]
        unknown = [k for k in values if k not in known]
        if unknown:
            raise ValueError(f"modal {modal['custom_id']!r} has no inputs {unknown}")
        data: Payload = {
            "custom_id": modal["custom_id"],
            "components": [s for s in submitted if s is not None],
        }
        channel = self.world.require_channel(previous.channel_id)
        app = self.world.applications[previous.application_id]
        source = (
            self.world.messages.get(previous.source_message_id)
            if previous.source_message_id
            else None
        )
        return self._dispatch_interaction(
            app=app,
            interaction_type=MODAL_SUBMIT,
            channel=channel,
            user_id=user_id,
            data=data,
            message=source,
        )
