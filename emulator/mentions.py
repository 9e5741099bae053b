"""Who a message pings: mention syntax in the content, allowed_mentions, and permissions.

Discord parses ``<@id>``/``<@!id>`` (users that exist), ``<@&id>`` (roles of the guild that are
mentionable, or any role if the author may MENTION_EVERYONE) and ``@everyone``/``@here`` (only
with MENTION_EVERYONE), then filters them through ``allowed_mentions``. Omitting
``allowed_mentions`` parses everything for normal messages but only users for interaction
responses and webhooks. Replies ping the replied-to author unless ``replied_user`` says otherwise.
Embeds never ping.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .state import Pings

_USER = re.compile(r"<@!?(\d{15,21})>")
_ROLE = re.compile(r"<@&(\d{15,21})>")
_EVERYONE = re.compile(r"@(everyone|here)")

PARSE_ALL = ("users", "roles", "everyone")
PARSE_USERS = ("users",)


@dataclass(frozen=True)
class MentionContext:
    """What the resolver needs to know about the world, as callbacks to stay storage-agnostic."""

    user_exists: Callable[[int], bool]
    guild_role: Callable[[int], tuple[bool, bool] | None]  # role id -> (exists, mentionable)
    can_mention_everyone: bool
    replied_user_id: int | None = None


def resolve_pings(
    content: str,
    allowed_mentions: dict[str, Any] | None,
    context: MentionContext,
    *,
    default_parse: tuple[str, ...] = PARSE_ALL,
) -> Pings:
    if allowed_mentions is None:
        parse: set[str] = set(default_parse)
        allowed_users: set[int] = set()
        allowed_roles: set[int] = set()
        replied_user = True
    else:
        parse = set(allowed_mentions.get("parse") or [])
        allowed_users = {int(u) for u in allowed_mentions.get("users") or []}
        allowed_roles = {int(r) for r in allowed_mentions.get("roles") or []}
        replied_user = bool(allowed_mentions.get("replied_user", False))

    pings = Pings()
    if "everyone" in parse and context.can_mention_everyone and _EVERYONE.search(content):
        pings.everyone = True

    for match in _USER.finditer(content):
        user_id = int(match.group(1))
        if not context.user_exists(user_id):
            continue
        if "users" in parse or user_id in allowed_users:
            pings.users.add(user_id)

    for match in _ROLE.finditer(content):
        role_id = int(match.group(1))
        found = context.guild_role(role_id)
        if found is None:
            continue
        _, mentionable = found
        if not (mentionable or context.can_mention_everyone):
            continue
        if "roles" in parse or role_id in allowed_roles:
            pings.roles.add(role_id)

    if context.replied_user_id is not None and replied_user:
        pings.users.add(context.replied_user_id)
    return pings
