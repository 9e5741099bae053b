"""Turning a test's ``{"name": value}`` into the options a Discord client would submit.

The Discord client only lets a user submit values that fit the registered command: required
options present, no unknown ones, the right type, one of the choices, inside min/max and length
bounds, channels of the allowed types. Anything else raises ``ValueError`` here, before the bot
sees it. User, role, channel and mentionable values are ids and come with ``resolved`` data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from . import commands as c
from .interactions import member_payload_for_resolved, partial_channel
from .state import Guild, Payload
from .world import World


class OptionError(ValueError):
    """The Discord client would not let a user submit these options."""


def _as_id(value: Any) -> int:
    if hasattr(value, "id"):
        value = value.id
    if isinstance(value, bool):
        raise OptionError(f"expected an id, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise OptionError(f"expected an id, got {value!r}") from None


class Resolver:
    def __init__(self, world: World, guild: Guild | None, channel_id: int, invoker_id: int) -> None:
        self.world = world
        self.guild = guild
        self.channel_id = channel_id
        self.invoker_id = invoker_id
        self.resolved: dict[str, dict[str, Payload]] = {}

    def _put(self, kind: str, key: int, payload: Payload) -> None:
        self.resolved.setdefault(kind, {})[str(key)] = payload

    def user(self, user_id: int) -> bool:
        user = self.world.users.get(user_id)
        if user is None:
            return False
        self._put("users", user_id, user.to_payload())
        if self.guild is not None and user_id in self.guild.members:
            permissions = self.world.channel_permissions(self.channel_id, user_id)
            self._put(
                "members",
                user_id,
                member_payload_for_resolved(self.guild.members[user_id], permissions),
            )
        return True

    def role(self, role_id: int) -> bool:
        if self.guild is None or role_id not in self.guild.roles:
            return False
        self._put("roles", role_id, self.guild.roles[role_id].to_payload())
        return True

    def channel(self, channel_id: int, allowed_types: list[int] | None) -> bool:
        channel = self.world.channels.get(channel_id)
        if channel is None or self.guild is None or channel.guild_id != self.guild.id:
            return False
        if allowed_types and channel.type not in allowed_types:
            raise OptionError(
                f"channel {channel_id} has type {channel.type}, allowed: {allowed_types}"
            )
        permissions = self.world.channel_permissions(channel_id, self.invoker_id)
        self._put("channels", channel_id, partial_channel(channel, permissions))
        return True


def _choice_value(option: Payload, raw: Any) -> Any:
    choices = option.get("choices")
    if not choices:
        return raw
    for choice in choices:
        if choice["value"] == raw or (isinstance(raw, str) and choice["name"] == raw):
            return choice["value"]
    for choice in choices:
        if str(choice["value"]) == str(raw):
            return choice["value"]
    names = [ch["name"] for ch in choices]
    raise OptionError(f"option {option['name']!r}: {raw!r} is not one of the choices {names}")


def _coerce(option: Payload, raw: Any, resolver: Resolver) -> Any:
    otype = option["type"]
    name = option["name"]
    if otype == c.STRING:
        raw = _choice_value(option, raw)
        if not isinstance(raw, str):
            if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                raw = str(raw)
            else:
                raise OptionError(f"option {name!r} expects a string, got {raw!r}")
        low = option.get("min_length", 1) or 1
        high = option.get("max_length", 6000)
        if not low <= len(raw) <= high:
            raise OptionError(f"option {name!r}: length {len(raw)} is outside {low}..{high}")
        return raw
    if otype in (c.INTEGER, c.NUMBER):
        raw = _choice_value(option, raw)
        if isinstance(raw, bool):
            raise OptionError(f"option {name!r} expects a number, got {raw!r}")
        try:
            number: int | float = float(raw) if otype == c.NUMBER else _to_int(raw)
        except (TypeError, ValueError):
            raise OptionError(f"option {name!r} expects a number, got {raw!r}") from None
        if otype == c.NUMBER and not math.isfinite(number):
            raise OptionError(f"option {name!r}: {raw!r} is not a finite number")
        if abs(number) > c.MAX_INT:
            raise OptionError(f"option {name!r}: {raw!r} is out of range")
        low, high = option.get("min_value"), option.get("max_value")
        if (low is not None and number < low) or (high is not None and number > high):
            raise OptionError(f"option {name!r}: {number} is outside {low}..{high}")
        return number
    if otype == c.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise OptionError(f"option {name!r} expects a boolean, got {raw!r}")
    if otype == c.USER:
        user_id = _as_id(raw)
        if not resolver.user(user_id):
            raise OptionError(f"option {name!r}: unknown user {user_id}")
        return str(user_id)
    if otype == c.ROLE:
        role_id = _as_id(raw)
        if not resolver.role(role_id):
            raise OptionError(f"option {name!r}: {role_id} is not a role of this guild")
        return str(role_id)
    if otype == c.CHANNEL:
        channel_id = _as_id(raw)
        if not resolver.channel(channel_id, option.get("channel_types")):
            raise OptionError(f"option {name!r}: {channel_id} is not a channel of this guild")
        return str(channel_id)
    if otype == c.MENTIONABLE:
        target = _as_id(raw)
        if not (resolver.user(target) or resolver.role(target)):
            raise OptionError(f"option {name!r}: {target} is neither a user nor a role here")
        return str(target)
    raise OptionError(f"option {name!r}: type {otype} values cannot be given by the emulator")


def _to_int(raw: Any) -> int:
    if isinstance(raw, float):
        if not raw.is_integer():
            raise ValueError(raw)
        return int(raw)
    return int(raw)


def build_command_data(
    world: World,
    command: Payload,
    subcommand_path: list[str],
    values: Mapping[str, Any],
    *,
    guild: Guild | None,
    channel_id: int,
    invoker_id: int,
    focused: str | None = None,
) -> Payload:
    """The ``data`` of an APPLICATION_COMMAND (or, with ``focused``, AUTOCOMPLETE) interaction."""
    definitions: list[Payload] = command.get("options") or []
    chain: list[Payload] = []
    for part in subcommand_path:
        match = next(
            (
                o
                for o in definitions
                if o["name"] == part and o["type"] in (c.SUB_COMMAND, c.SUB_COMMAND_GROUP)
            ),
            None,
        )
        if match is None:
            raise OptionError(f"/{command['name']} has no subcommand or group {part!r}")
        chain.append(match)
        definitions = match.get("options") or []
    if any(o["type"] in (c.SUB_COMMAND, c.SUB_COMMAND_GROUP) for o in definitions):
        names = [o["name"] for o in definitions]
        raise OptionError(
            f"/{' '.join([command['name'], *subcommand_path])} needs a subcommand: {names}"
        )
    by_name = {o["name"]: o for o in definitions}
    unknown = [name for name in values if name not in by_name]
    if unknown:
        raise OptionError(
            f"unknown option(s) {unknown} for /{' '.join([command['name'], *subcommand_path])}"
        )
    if focused is not None:
        if focused not in by_name:
            raise OptionError(f"focused option {focused!r} is not an option of this command")
        if not by_name[focused].get("autocomplete"):
            raise OptionError(f"option {focused!r} does not have autocomplete enabled")
    else:
        missing = [o["name"] for o in definitions if o.get("required") and o["name"] not in values]
        if missing:
            raise OptionError(f"missing required option(s) {missing}")
    resolver = Resolver(world, guild, channel_id, invoker_id)
    leaf: list[Payload] = []
    for definition in definitions:
        name = definition["name"]
        if name not in values:
            continue
        entry: Payload = {"type": definition["type"], "name": name}
        if name == focused:
            entry["value"] = str(values[name])
            entry["focused"] = True
        else:
            entry["value"] = _coerce(definition, values[name], resolver)
        leaf.append(entry)
    options: list[Payload] = leaf
    for link in reversed(chain):
        options = [{"type": link["type"], "name": link["name"], "options": options}]
    data: Payload = {"id": command["id"], "name": command["name"], "type": command["type"]}
    if options:
        data["options"] = options
    if resolver.resolved:
        data["resolved"] = resolver.resolved
    if command.get("guild_id") is not None:
        data["guild_id"] = command["guild_id"]
    return data
