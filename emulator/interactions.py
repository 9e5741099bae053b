"""Interactions: the payload a bot receives, and the handle a test keeps to watch the response.

The handle records the lifecycle Discord enforces (one acknowledgement within the deadline, a
token valid for follow-ups for 15 minutes) and lets tests await the response, the original
message and follow-ups without polling.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .state import LOADING, Channel, Member, Message, Payload, User
from .world import World

PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
# The largest file Discord takes in a message of a server without boosts (40005 above it).
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


@dataclass(frozen=True)
class InteractionResponse:
    """The first acknowledgement the bot sent: callback type and its data."""

    type: int
    data: dict[str, Any] | None


class Interaction:
    """A test's handle on one interaction the emulator created."""

    def __init__(
        self,
        *,
        world: World,
        id: int,
        token: str,
        type: int,
        application_id: int,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        payload: Payload,
        source_message_id: int | None = None,
    ) -> None:
        self._world = world
        self.id = id
        self.token = token
        self.type = type
        self.application_id = application_id
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.user_id = user_id
        self.payload = payload
        self.created_at = time.monotonic()
        self.source_message_id = source_message_id
        self.response: InteractionResponse | None = None
        self.responded_at: float | None = None
        self.original_message_id: int | None = None
        self.followups: list[Message] = []
        self._event = asyncio.Event()

    def __repr__(self) -> str:
        return f"<Interaction id={self.id} type={self.type} response={self.response!r}>"

    @property
    def data(self) -> Payload:
        data: Payload = self.payload.get("data") or {}
        return data

    @property
    def modal(self) -> Payload | None:
        if self.response is not None and self.response.type == 9:
            return self.response.data
        return None

    @property
    def original_message(self) -> Message | None:
        """The response message once it has been filled (a type 4 reply or an edited deferral)."""
        if self.original_message_id is None:
            return None
        message = self._world.messages.get(self.original_message_id)
        if message is None or message.deleted or message.flags & LOADING:
            return None
        return message

    def _notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def _wait(self, ready: Callable[[], bool], seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not ready():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"interaction {self.id}: timed out waiting for {what}")
            event = self._event
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                continue

    async def wait_response(self, timeout: float = 5.0) -> InteractionResponse:  # noqa: ASYNC109
        await self._wait(lambda: self.response is not None, timeout, "a response")
        assert self.response is not None
        return self.response

    async def wait_original_edit(self, timeout: float = 5.0) -> Message:  # noqa: ASYNC109
        def filled() -> bool:
            message = self.original_message
            return message is not None and bool(
                message.content or message.embeds or message.components or message.attachments
            )

        await self._wait(filled, timeout, "the original response to be filled")
        message = self.original_message
        assert message is not None
        return message

    async def wait_followups(self, count: int = 1, timeout: float = 5.0) -> list[Message]:  # noqa: ASYNC109
        await self._wait(lambda: len(self.followups) >= count, timeout, f"{count} follow-up(s)")
        return list(self.followups)


def new_token(interaction_id: int) -> str:
    """Interaction tokens are long opaque strings starting with the base64 of "interaction:"."""
    return f"aW50ZXJhY3Rpb246{interaction_id}:{secrets.token_urlsafe(96)}"


def partial_channel(channel: Channel, permissions: int) -> Payload:
    payload = channel.to_payload()
    payload.pop("permission_overwrites", None)
    payload["permissions"] = str(permissions)
    return payload


def interaction_payload(
    world: World,
    *,
    interaction_id: int,
    token: str,
    interaction_type: int,
    application_id: int,
    bot_user_id: int,
    channel: Channel,
    user: User,
    data: Payload,
    message: Payload | None = None,
) -> Payload:
    """The INTERACTION_CREATE body as documented (guild flavour when the channel is in a guild)."""
    payload: Payload = {
        "id": str(interaction_id),
        "application_id": str(application_id),
        "type": interaction_type,
        "data": data,
        "channel_id": str(channel.id),
        "token": token,
        "version": 1,
        "locale": "en-US",
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    }
    if channel.guild_id is not None:
        guild = world.guilds[channel.guild_id]
        member = guild.members[user.id]
        permissions = world.channel_permissions(channel.id, user.id)
        payload.update(
            {
                "guild_id": str(guild.id),
                "guild": {"id": str(guild.id), "locale": guild.preferred_locale, "features": []},
                "guild_locale": guild.preferred_locale,
                "channel": partial_channel(channel, permissions),
                "member": {**member.to_payload(), "permissions": str(permissions)},
                "app_permissions": str(app_permissions(world, channel, bot_user_id)),
                "authorizing_integration_owners": {"0": str(guild.id)},
                "context": 0,
            }
        )
    else:
        payload.update(
            {
                "channel": partial_channel(channel, 0),
                "user": user.to_payload(),
                "app_permissions": str(app_permissions(world, channel, bot_user_id)),
                "authorizing_integration_owners": {"0": "0"},
                "context": 1,
            }
        )
    if message is not None:
        payload["message"] = message
    return payload


def app_permissions(world: World, channel: Channel, bot_user_id: int) -> int:
    """What the app may do where the interaction happened (the bot member's channel permissions)."""
    if channel.guild_id is None:
        return (1 << 15) | (1 << 14) | (1 << 17) | (1 << 18)
    if world.member(channel.guild_id, bot_user_id) is not None:
        return world.channel_permissions(channel.id, bot_user_id)
    guild = world.guilds[channel.guild_id]
    everyone = guild.roles[guild.id].permissions
    overwrite = channel.overwrites.get(guild.id)
    if overwrite is not None:
        everyone = (everyone & ~overwrite.deny) | overwrite.allow
    return everyone


def member_payload_for_resolved(member: Member, permissions: int) -> Payload:
    payload = member.to_payload(with_user=False, voice=False)
    payload["permissions"] = str(permissions)
    return payload
