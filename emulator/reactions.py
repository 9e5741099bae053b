"""Reactions: who reacted to a message with which emoji, and the gateway events that report it.

A message keeps one ``Reaction`` per emoji with the users in the order they reacted. Adding a
reaction a user already has, or removing one they do not have, changes nothing and sends
nothing, as on Discord. MESSAGE_REACTION_ADD carries the reacting member and the message's
author; MESSAGE_REACTION_REMOVE carries neither (docs: events/gateway-events, Message Reaction
Add/Remove). Both need GUILD_MESSAGE_REACTIONS (DIRECT_MESSAGE_REACTIONS in DMs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .gateway import GatewayHub
from .messages import dm_recipients
from .state import Message, Payload
from .world import World

NORMAL = 0  # reaction type; BURST (1) super-reactions are not modelled
_CUSTOM = re.compile(r"^(a:)?([A-Za-z0-9_]{2,32}):(\d{15,21})$")


@dataclass(frozen=True)
class ReactionEmoji:
    """A unicode emoji (``id`` None) or a custom one, as the partial emoji object describes it."""

    name: str
    id: int | None = None
    animated: bool = False

    def to_payload(self) -> Payload:
        payload: Payload = {"id": _str_or_none(self.id), "name": self.name}
        if self.animated:
            payload["animated"] = True  # only sent for animated emoji
        return payload


def parse_emoji(raw: str) -> ReactionEmoji:
    """``🔥``, ``name:id`` or ``a:name:id`` (the forms the reaction routes take).

    Raises ``ValueError`` for anything else, e.g. plain text such as ``fire`` or ``:fire:``:
    Discord answers those with 10014 Unknown Emoji.
    """
    text = raw.strip().strip("<>")
    custom = _CUSTOM.match(text)
    if custom is not None:
        return ReactionEmoji(
            name=custom.group(2), id=int(custom.group(3)), animated=bool(custom.group(1))
        )
    if not text or text.isascii() or len(text) > 32 or any(c.isspace() for c in text):
        raise ValueError(f"{raw!r} is not an emoji")
    return ReactionEmoji(name=text)


@dataclass(eq=False)
class Reaction:
    emoji: ReactionEmoji
    user_ids: list[int] = field(default_factory=list)

    def to_payload(self, viewer_id: int | None) -> Payload:
        """The reaction object; ``me`` says whether ``viewer_id`` is among the reactors."""
        return {
            "count": len(self.user_ids),
            "count_details": {"burst": 0, "normal": len(self.user_ids)},
            "me": viewer_id is not None and viewer_id in self.user_ids,
            "me_burst": False,
            "emoji": self.emoji.to_payload(),
            "burst_colors": [],
        }


def find_reaction(message: Message, emoji: ReactionEmoji) -> Reaction | None:
    return next((r for r in message.reactions if r.emoji == emoji), None)


class ReactionService:
    def __init__(self, world: World, hub: GatewayHub) -> None:
        self.world = world
        self.hub = hub

    def add(self, message: Message, user_id: int, emoji: ReactionEmoji) -> bool:
        """Record the reaction and dispatch MESSAGE_REACTION_ADD; False if it was already there."""
        reaction = find_reaction(message, emoji)
        if reaction is not None and user_id in reaction.user_ids:
            return False
        if reaction is None:
            reaction = Reaction(emoji)
            message.reactions.append(reaction)
        reaction.user_ids.append(user_id)
        data = self._event_base(message, user_id, emoji)
        if message.guild_id is not None:
            member = self.world.member(message.guild_id, user_id)
            if member is not None:
                data["member"] = member.to_payload()
        data["message_author_id"] = str(message.author_id)
        data["burst_colors"] = []
        self._emit("MESSAGE_REACTION_ADD", message, data)
        return True

    def remove(self, message: Message, user_id: int, emoji: ReactionEmoji) -> bool:
        """Drop the reaction and dispatch MESSAGE_REACTION_REMOVE; False if there was none."""
        reaction = find_reaction(message, emoji)
        if reaction is None or user_id not in reaction.user_ids:
            return False
        reaction.user_ids.remove(user_id)
        if not reaction.user_ids:
            message.reactions.remove(reaction)
        self._emit("MESSAGE_REACTION_REMOVE", message, self._event_base(message, user_id, emoji))
        return True

    @staticmethod
    def _event_base(message: Message, user_id: int, emoji: ReactionEmoji) -> Payload:
        data: Payload = {
            "user_id": str(user_id),
            "channel_id": str(message.channel_id),
            "message_id": str(message.id),
            "emoji": emoji.to_payload(),
            "burst": False,
            "type": NORMAL,
        }
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        return data

    def _emit(self, event: str, message: Message, data: Payload) -> None:
        channel = self.world.channels.get(message.channel_id)
        recipients = dm_recipients(channel) if channel is not None else None
        self.hub.emit(
            event,
            data,
            guild_id=message.guild_id,
            recipients=recipients,
            channel_id=message.channel_id,
        )


def _str_or_none(value: int | None) -> str | None:
    return None if value is None else str(value)
