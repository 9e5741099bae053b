"""Gateway intents: which events a session receives, and what MESSAGE_CONTENT hides.

Discord only sends events whose intent the session identified with, and without the privileged
MESSAGE_CONTENT intent it blanks content, embeds, attachments, components and polls of messages
that are not the bot's own, not in DMs, and do not mention the bot. Everything else (author,
channel, ``message_reference``, type) stays, which is what passive tracking relies on; a reply's
``referenced_message`` is judged on its own (a reply to the bot's message shows the bot's text).
"""

from __future__ import annotations

import enum
from typing import Any


class Intent(enum.IntFlag):
    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_MODERATION = 1 << 2
    GUILD_EXPRESSIONS = 1 << 3
    GUILD_INTEGRATIONS = 1 << 4
    GUILD_WEBHOOKS = 1 << 5
    GUILD_INVITES = 1 << 6
    GUILD_VOICE_STATES = 1 << 7
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    GUILD_MESSAGE_TYPING = 1 << 11
    DIRECT_MESSAGES = 1 << 12
    DIRECT_MESSAGE_REACTIONS = 1 << 13
    DIRECT_MESSAGE_TYPING = 1 << 14
    MESSAGE_CONTENT = 1 << 15
    GUILD_SCHEDULED_EVENTS = 1 << 16
    AUTO_MODERATION_CONFIGURATION = 1 << 20
    AUTO_MODERATION_EXECUTION = 1 << 21
    GUILD_MESSAGE_POLLS = 1 << 24
    DIRECT_MESSAGE_POLLS = 1 << 25


ALL_INTENTS = 0
for _intent in Intent:
    ALL_INTENTS |= _intent.value

PRIVILEGED_INTENTS = int(Intent.GUILD_MEMBERS | Intent.GUILD_PRESENCES | Intent.MESSAGE_CONTENT)

_GUILD_EVENTS = {
    "GUILD_CREATE",
    "GUILD_UPDATE",
    "GUILD_DELETE",
    "GUILD_ROLE_CREATE",
    "GUILD_ROLE_UPDATE",
    "GUILD_ROLE_DELETE",
    "CHANNEL_CREATE",
    "CHANNEL_UPDATE",
    "CHANNEL_DELETE",
    "CHANNEL_PINS_UPDATE",
    "THREAD_CREATE",
    "THREAD_UPDATE",
    "THREAD_DELETE",
    "THREAD_LIST_SYNC",
    "THREAD_MEMBER_UPDATE",
}
_MEMBER_EVENTS = {"GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE"}
_MESSAGE_EVENTS = {"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "MESSAGE_DELETE_BULK"}
_REACTION_EVENTS = {
    "MESSAGE_REACTION_ADD",
    "MESSAGE_REACTION_REMOVE",
    "MESSAGE_REACTION_REMOVE_ALL",
    "MESSAGE_REACTION_REMOVE_EMOJI",
}


def required_intent(event: str, *, in_guild: bool) -> int:
    """The intent bit an event needs (0 when every session gets it)."""
    if event in _GUILD_EVENTS:
        return int(Intent.GUILDS)
    if event in _MEMBER_EVENTS:
        return int(Intent.GUILD_MEMBERS)
    if event in _MESSAGE_EVENTS:
        return int(Intent.GUILD_MESSAGES if in_guild else Intent.DIRECT_MESSAGES)
    if event in _REACTION_EVENTS:
        return int(Intent.GUILD_MESSAGE_REACTIONS if in_guild else Intent.DIRECT_MESSAGE_REACTIONS)
    return 0


def strip_message_content(
    data: dict[str, Any], *, bot_user_id: int, intents: int
) -> dict[str, Any]:
    """The message payload as a session without MESSAGE_CONTENT sees it."""
    if intents & Intent.MESSAGE_CONTENT:
        return data
    if "guild_id" not in data:
        return data
    stripped = _without_content(data, bot_user_id)
    referenced = data.get("referenced_message")
    if isinstance(referenced, dict):
        inner = _without_content(referenced, bot_user_id)
        if inner is not referenced:
            stripped = {**stripped, "referenced_message": inner}
    return stripped


def _without_content(data: dict[str, Any], bot_user_id: int) -> dict[str, Any]:
    """``data`` itself when the bot may read it, else a copy with the content fields blanked."""
    author = data.get("author") or {}
    if str(author.get("id")) == str(bot_user_id):
        return data
    if any(str(m.get("id")) == str(bot_user_id) for m in data.get("mentions") or []):
        return data
    stripped = dict(data)
    if "content" in stripped:
        stripped["content"] = ""
    for key in ("embeds", "attachments", "components"):
        if key in stripped:
            stripped[key] = []
    stripped.pop("poll", None)
    return stripped
