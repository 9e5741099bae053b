"""A whole world from one JSON document, for a process that drives the emulator from outside.

Benchmarks build communities of thousands of members; one document (rather than one request
per user) keeps that quick. Everything goes through ``DiscordEmulator``'s own world-building
methods, so the result is the same as a test building it in-process::

    {
      "applications": [{"key": "coach", "name": "PLN Coach", "token": "optional"}],
      "users": [{"key": "ana", "username": "ana", "global_name": "Ana", "bot": false}],
      "guilds": [{
        "key": "demo", "name": "Demo Educators", "owner": "ana",
        "roles": [{"key": "teachers", "name": "Teachers", "permissions": 0, "mentionable": true}],
        "channels": [{"key": "general", "name": "general", "topic": "optional"}],
        "members": [{"user": "ana", "roles": ["teachers"], "nick": "optional"}],
        "bots": [{"application": "coach", "permissions": 274877992000}]
      }]
    }

``key`` defaults to the name; users and applications are referred to by key. The answer gives
every id (and each application's token) by key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .emulator import DiscordEmulator

Spec = Mapping[str, Any]


def build_world(emu: DiscordEmulator, spec: Spec) -> dict[str, Any]:
    """Create what ``spec`` describes; raises ``KeyError``/``ValueError`` naming what is wrong."""
    applications: dict[str, dict[str, str]] = {}
    users: dict[str, int] = {}
    for item in spec.get("applications", []):
        app = emu.create_application(name=item["name"], token=item.get("token"))
        key = item.get("key", item["name"])
        applications[key] = {"id": str(app.id), "token": app.token, "bot_user_id": str(app.id)}
        users[key] = app.bot_user.id
    for item in spec.get("users", []):
        user = emu.create_user(
            item["username"], bot=bool(item.get("bot", False)), global_name=item.get("global_name")
        )
        users[item.get("key", item["username"])] = user.id
    guilds = {
        item.get("key", item["name"]): _build_guild(emu, item, users)
        for item in spec.get("guilds", [])
    }
    return {
        "applications": applications,
        "users": {key: str(user_id) for key, user_id in users.items()},
        "guilds": guilds,
    }


def _build_guild(emu: DiscordEmulator, spec: Spec, users: Mapping[str, int]) -> dict[str, Any]:
    guild = emu.create_guild(spec["name"], owner_id=users[spec["owner"]])
    roles: dict[str, int] = {}
    for item in spec.get("roles", []):
        role = emu.create_role(
            guild.id,
            item["name"],
            permissions=int(item.get("permissions", 0)),
            mentionable=bool(item.get("mentionable", False)),
        )
        roles[item.get("key", item["name"])] = role.id
    channels = {
        item.get("key", item["name"]): emu.create_text_channel(
            guild.id, item["name"], topic=item.get("topic")
        ).id
        for item in spec.get("channels", [])
    }
    for item in spec.get("members", []):
        emu.add_member(
            guild.id,
            users[item["user"]],
            roles=[roles[role] for role in item.get("roles", [])],
            nick=item.get("nick"),
        )
    for item in spec.get("bots", []):
        emu.add_member(
            guild.id,
            users[item["application"]],
            roles=[roles[role] for role in item.get("roles", [])],
            bot_permissions=int(item.get("permissions", 0)),
        )
    return {
        "id": str(guild.id),
        "roles": {key: str(role_id) for key, role_id in roles.items()},
        "channels": {key: str(channel_id) for key, channel_id in channels.items()},
    }
