"""Application command registry and Discord's validation of command payloads.

Commands live per application and scope (global, or one guild). Writes are validated like
Discord does (naming rules, 1-100 character descriptions, at most 25 options/choices, required
options first, unique names, nesting rules, the 8000 character budget, 100 commands per type),
and a failed write answers 400 / 50035 with the errors tree.
"""

from __future__ import annotations

import copy
import unicodedata
from typing import Any

from .errors import (
    FormErrors,
    invalid_form_body,
    not_an_object,
    too_many_commands,
    unknown_command,
)
from .snowflakes import SnowflakeGenerator

CHAT_INPUT, USER_COMMAND, MESSAGE_COMMAND, PRIMARY_ENTRY_POINT = 1, 2, 3, 4
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = (
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
)
TYPE_LIMITS = {CHAT_INPUT: 100, USER_COMMAND: 15, MESSAGE_COMMAND: 15, PRIMARY_ENTRY_POINT: 1}
MAX_INT = 2**53 - 1

Path = tuple[str | int, ...]
Scope = tuple[int, int | None]


def _name_char_ok(char: str) -> bool:
    if char in "-_'":
        return True
    category = unicodedata.category(char)
    if category[0] in "LN":
        return True
    code = ord(char)
    # \p{sc=Deva} and \p{sc=Thai}: their blocks include combining marks.
    return 0x0900 <= code <= 0x097F or 0xA8E0 <= code <= 0xA8FF or 0x0E00 <= code <= 0x0E7F


def valid_chat_input_name(name: str) -> bool:
    return 1 <= len(name) <= 32 and all(_name_char_ok(c) for c in name) and name == name.lower()


def _check_name(errors: FormErrors, path: Path, name: Any, *, chat_input: bool) -> None:
    if not isinstance(name, str):
        errors.add_required((*path, "name"))
        return
    if not 1 <= len(name) <= 32:
        errors.add_bad_length((*path, "name"), 1, 32)
        return
    if chat_input and not valid_chat_input_name(name):
        errors.add((*path, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def _check_description(errors: FormErrors, path: Path, description: Any) -> None:
    if not isinstance(description, str):
        errors.add_required((*path, "description"))
    elif not 1 <= len(description) <= 100:
        errors.add_bad_length((*path, "description"), 1, 100)


def _budget(command: dict[str, Any]) -> int:
    """Characters counted against the 8000 limit: names, descriptions, choice names and values."""
    total = len(str(command.get("name", ""))) + len(str(command.get("description", "")))
    for option in command.get("options") or []:
        if isinstance(option, dict):
            total += _budget(option)
            for choice in option.get("choices") or []:
                if isinstance(choice, dict):
                    total += len(str(choice.get("name", ""))) + len(str(choice.get("value", "")))
    return total


def _validate_options(errors: FormErrors, path: Path, options: Any, *, depth: int) -> None:
    if options is None:
        return
    if not isinstance(options, list):
        errors.add_not_an_array((*path, "options"))
        return
    if len(options) > 25:
        errors.add_max_length((*path, "options"), 25)
        return
    seen: set[str] = set()
    seen_optional = False
    kinds: set[str] = set()
    for index, option in enumerate(options):
        opath = (*path, "options", index)
        if not isinstance(option, dict):
            errors.add_not_an_object(opath)
            continue
        otype = option.get("type")
        if not isinstance(otype, int) or otype not in range(1, 12):
            errors.add(
                (*opath, "type"),
                "BASE_TYPE_CHOICES",
                "Value must be one of {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}.",
            )
            continue
        _check_name(errors, opath, option.get("name"), chat_input=True)
        _check_description(errors, opath, option.get("description"))
        name = option.get("name")
        if isinstance(name, str):
            if name in seen:
                errors.add(
                    (*opath, "name"),
                    "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
                    "Option names must be unique",
                )
            seen.add(name)
        if otype in (SUB_COMMAND, SUB_COMMAND_GROUP):
            kinds.add("sub")
            if option.get("required"):
                errors.add(
                    (*opath, "required"),
                    "APPLICATION_COMMAND_OPTION_REQUIRED_INVALID",
                    "Subcommands cannot be required",
                )
            if otype == SUB_COMMAND_GROUP:
                if depth != 0:
                    errors.add(
                        (*opath, "type"),
                        "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                        "Subcommand groups can only be nested in commands",
                    )
                children = option.get("options") or []
                if any(isinstance(c, dict) and c.get("type") != SUB_COMMAND for c in children):
                    errors.add(
                        (*opath, "options"),
                        "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                        "Subcommand groups can only contain subcommands",
                    )
                _validate_options(errors, opath, children, depth=depth + 1)
            else:
                if depth > 1:
                    errors.add(
                        (*opath, "type"),
                        "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                        "Subcommands can only be nested in commands or groups",
                    )
                children = option.get("options") or []
                if any(
                    isinstance(c, dict) and c.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP)
                    for c in children
                ):
                    errors.add(
                        (*opath, "options"),
                        "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                        "Subcommands cannot contain subcommands",
                    )
                _validate_options(errors, opath, children, depth=depth + 1)
            continue
        kinds.add("value")
        if option.get("options"):
            errors.add(
                (*opath, "options"),
                "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                "Only subcommands and groups can have options",
            )
        required = bool(option.get("required", False))
        if required and seen_optional:
            errors.add(
                (*opath, "required"),
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                "Required options must be placed before non-required options",
            )
        if not required:
            seen_optional = True
        _validate_value_option(errors, opath, option, otype)
    if kinds == {"sub", "value"}:
        errors.add(
            (*path, "options"),
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Options cannot mix subcommands with other option types",
        )


def _validate_value_option(
    errors: FormErrors, path: Path, option: dict[str, Any], otype: int
) -> None:
    choices = option.get("choices")
    if choices is not None:
        if otype not in (STRING, INTEGER, NUMBER):
            errors.add(
                (*path, "choices"),
                "APPLICATION_COMMAND_OPTION_CHOICES_INVALID",
                "Choices are only allowed for string, integer and number options",
            )
        elif not isinstance(choices, list):
            errors.add_not_an_array((*path, "choices"))
        elif len(choices) > 25:
            errors.add_max_length((*path, "choices"), 25)
        else:
            for ci, choice in enumerate(choices):
                cpath = (*path, "choices", ci)
                if not isinstance(choice, dict):
                    errors.add_not_an_object(cpath)
                    continue
                cname = choice.get("name")
                if not isinstance(cname, str) or not 1 <= len(cname) <= 100:
                    errors.add_bad_length((*cpath, "name"), 1, 100)
                value = choice.get("value")
                if otype == STRING:
                    if not isinstance(value, str) or not 1 <= len(value) <= 100:
                        errors.add_bad_length((*cpath, "value"), 1, 100)
                elif otype == INTEGER:
                    if (
                        not isinstance(value, int)
                        or isinstance(value, bool)
                        or abs(value) > MAX_INT
                    ):
                        errors.add(
                            (*cpath, "value"), "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.'
                        )
                elif not isinstance(value, (int, float)) or isinstance(value, bool):
                    errors.add(
                        (*cpath, "value"), "NUMBER_TYPE_COERCE", f'Value "{value}" is not a number.'
                    )
            if option.get("autocomplete"):
                errors.add(
                    (*path, "autocomplete"),
                    "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_CHOICES",
                    "Autocomplete cannot be set when choices are present",
                )
    if option.get("autocomplete") and otype not in (STRING, INTEGER, NUMBER):
        errors.add(
            (*path, "autocomplete"),
            "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_INVALID",
            "Autocomplete is only allowed for string, integer and number options",
        )
    for key in ("min_value", "max_value"):
        value = option.get(key)
        if value is None:
            continue
        if otype not in (INTEGER, NUMBER):
            errors.add(
                (*path, key),
                "APPLICATION_COMMAND_OPTION_INVALID",
                f"{key} is only allowed for integer and number options",
            )
        elif not isinstance(value, (int, float)) or isinstance(value, bool) or abs(value) > 2**53:
            errors.add((*path, key), "NUMBER_TYPE_COERCE", f'Value "{value}" is not a number.')
    low, high = option.get("min_value"), option.get("max_value")
    if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low > high:
        errors.add(
            (*path, "min_value"),
            "NUMBER_TYPE_MAX",
            f"Value should be less than or equal to {high}.",
        )
    for key, lowest in (("min_length", 0), ("max_length", 1)):
        value = option.get(key)
        if value is None:
            continue
        if otype != STRING:
            errors.add(
                (*path, key),
                "APPLICATION_COMMAND_OPTION_INVALID",
                f"{key} is only allowed for string options",
            )
        elif not isinstance(value, int) or not lowest <= value <= 6000:
            errors.add(
                (*path, key), "NUMBER_TYPE_MAX", f"int value should be between {lowest} and 6000."
            )
    channel_types = option.get("channel_types")
    if channel_types is not None and otype != CHANNEL:
        errors.add(
            (*path, "channel_types"),
            "APPLICATION_COMMAND_OPTION_INVALID",
            "channel_types is only allowed for channel options",
        )


def validate_command(
    errors: FormErrors, path: Path, payload: Any, *, partial: bool = False
) -> None:
    if not isinstance(payload, dict):
        errors.add_not_an_object(path)
        return
    ctype = payload.get("type", CHAT_INPUT)
    if ctype not in TYPE_LIMITS:
        errors.add((*path, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4}.")
        return
    chat_input = ctype == CHAT_INPUT
    if not partial or "name" in payload:
        _check_name(errors, path, payload.get("name"), chat_input=chat_input)
    if chat_input:
        if not partial or "description" in payload:
            _check_description(errors, path, payload.get("description"))
        _validate_options(errors, path, payload.get("options"), depth=0)
    else:
        if payload.get("description") not in (None, ""):
            errors.add(
                (*path, "description"),
                "APPLICATION_COMMAND_DESCRIPTION_INVALID",
                "Description must be empty for this command type",
            )
        if payload.get("options"):
            errors.add(
                (*path, "options"),
                "APPLICATION_COMMAND_OPTIONS_INVALID",
                "Options are only allowed for chat input commands",
            )
    permissions = payload.get("default_member_permissions")
    if permissions is not None:
        try:
            int(permissions)
        except (TypeError, ValueError):
            errors.add(
                (*path, "default_member_permissions"),
                "NUMBER_TYPE_COERCE",
                f'Value "{permissions}" is not snowflake.',
            )
    for key, allowed in (("contexts", {0, 1, 2}), ("integration_types", {0, 1})):
        value = payload.get(key)
        if value is not None and (
            not isinstance(value, list) or any(v not in allowed for v in value)
        ):
            errors.add(
                (*path, key), "BASE_TYPE_CHOICES", f"Value must be one of {sorted(allowed)}."
            )
    if chat_input and _budget(payload) > 8000:
        errors.add(path, "APPLICATION_COMMAND_TOO_LARGE", "Command exceeds maximum size (8000)")


def _normalize_option(option: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "type": option["type"],
        "name": option["name"],
        "description": option.get("description", ""),
    }
    for key in ("name_localizations", "description_localizations"):
        if option.get(key):
            result[key] = option[key]
    if option.get("required"):
        result["required"] = True
    for key in ("choices", "channel_types", "min_value", "max_value", "min_length", "max_length"):
        if option.get(key) is not None:
            result[key] = copy.deepcopy(option[key])
    if option.get("autocomplete"):
        result["autocomplete"] = True
    if option.get("options"):
        result["options"] = [_normalize_option(o) for o in option["options"]]
    return result


class CommandRegistry:
    def __init__(self, ids: SnowflakeGenerator) -> None:
        self._ids = ids
        self._scopes: dict[Scope, dict[int, dict[str, Any]]] = {}
        self.writes = 0

    def list_commands(self, application_id: int, guild_id: int | None) -> list[dict[str, Any]]:
        return [copy.deepcopy(c) for c in self._scopes.get((application_id, guild_id), {}).values()]

    def all_scopes(self) -> dict[Scope, dict[int, dict[str, Any]]]:
        return self._scopes

    def get(self, application_id: int, guild_id: int | None, command_id: int) -> dict[str, Any]:
        try:
            return copy.deepcopy(self._scopes[(application_id, guild_id)][command_id])
        except KeyError:
            raise unknown_command() from None

    def find(
        self, application_id: int, guild_id: int | None, name: str, ctype: int = CHAT_INPUT
    ) -> dict[str, Any] | None:
        for command in self._scopes.get((application_id, guild_id), {}).values():
            if command["name"] == name and command["type"] == ctype:
                return command
        return None

    def _build(
        self,
        application_id: int,
        guild_id: int | None,
        payload: dict[str, Any],
        existing: dict[str, Any] | None,
    ) -> dict[str, Any]:
        ctype = payload.get("type", CHAT_INPUT)
        permissions = payload.get("default_member_permissions")
        command: dict[str, Any] = {
            "id": existing["id"] if existing else str(self._ids.next()),
            "application_id": str(application_id),
            "version": "",
            "default_member_permissions": None if permissions is None else str(int(permissions)),
            "type": ctype,
            "name": payload["name"],
            "name_localizations": payload.get("name_localizations"),
            "description": payload.get("description", "") if ctype == CHAT_INPUT else "",
            "description_localizations": payload.get("description_localizations"),
            "nsfw": bool(payload.get("nsfw", False)),
        }
        if guild_id is not None:
            command["guild_id"] = str(guild_id)
        else:
            command["dm_permission"] = payload.get("dm_permission", True) is not False
        contexts = payload.get("contexts")
        command["contexts"] = list(contexts) if contexts is not None else None
        integration_types = payload.get("integration_types")
        command["integration_types"] = (
            list(integration_types) if integration_types is not None else [0]
        )
        if payload.get("options"):
            command["options"] = [_normalize_option(o) for o in payload["options"]]
        if existing is not None and _same(existing, command):
            command["version"] = existing["version"]
        else:
            command["version"] = str(self._ids.next())
        return command

    def _check_limits(self, commands: list[dict[str, Any]]) -> None:
        counts: dict[int, int] = {}
        for command in commands:
            counts[command["type"]] = counts.get(command["type"], 0) + 1
        for ctype, count in counts.items():
            if count > TYPE_LIMITS[ctype]:
                raise too_many_commands(TYPE_LIMITS[ctype])

    def overwrite(
        self, application_id: int, guild_id: int | None, payloads: Any
    ) -> list[dict[str, Any]]:
        errors = FormErrors()
        if not isinstance(payloads, list):
            errors.add_not_an_array(())
            raise invalid_form_body(errors.tree)
        for index, payload in enumerate(payloads):
            validate_command(errors, (index,), payload)
        if not errors:
            names: set[tuple[int, str]] = set()
            for index, payload in enumerate(payloads):
                key = (payload.get("type", CHAT_INPUT), payload["name"])
                if key in names:
                    _add_duplicate_name(errors, (index, "name"))
                names.add(key)
        errors.raise_if_any()
        current = self._scopes.get((application_id, guild_id), {})
        by_key = {(c["type"], c["name"]): c for c in current.values()}
        built = [
            self._build(
                application_id, guild_id, p, by_key.get((p.get("type", CHAT_INPUT), p["name"]))
            )
            for p in payloads
        ]
        self._check_limits(built)
        self._scopes[(application_id, guild_id)] = {int(c["id"]): c for c in built}
        self.writes += 1
        return copy.deepcopy(built)

    def create(
        self, application_id: int, guild_id: int | None, payload: Any
    ) -> tuple[dict[str, Any], bool]:
        errors = FormErrors()
        validate_command(errors, (), payload)
        errors.raise_if_any()
        scope = self._scopes.setdefault((application_id, guild_id), {})
        existing = self.find(
            application_id, guild_id, payload["name"], payload.get("type", CHAT_INPUT)
        )
        command = self._build(application_id, guild_id, payload, existing)
        if existing is None:
            self._check_limits([*scope.values(), command])
        scope[int(command["id"])] = command
        self.writes += 1
        return copy.deepcopy(command), existing is None

    def edit(
        self, application_id: int, guild_id: int | None, command_id: int, payload: Any
    ) -> dict[str, Any]:
        scope = self._scopes.get((application_id, guild_id), {})
        existing = scope.get(command_id)
        if existing is None:
            raise unknown_command()
        if not isinstance(payload, dict):
            raise not_an_object()
        merged = {**_as_input(existing), **payload, "type": existing["type"]}
        errors = FormErrors()
        validate_command(errors, (), merged)
        errors.raise_if_any()
        clash = self.find(application_id, guild_id, merged["name"], existing["type"])
        if clash is not None and clash is not existing:
            _add_duplicate_name(errors, ("name",))
            errors.raise_if_any()
        command = self._build(application_id, guild_id, merged, existing)
        scope[command_id] = command
        self.writes += 1
        return copy.deepcopy(command)

    def delete(self, application_id: int, guild_id: int | None, command_id: int) -> None:
        scope = self._scopes.get((application_id, guild_id), {})
        if command_id not in scope:
            raise unknown_command()
        del scope[command_id]


def _add_duplicate_name(errors: FormErrors, path: Path) -> None:
    """Two commands of one type and scope may not share a name (bulk overwrite and edit)."""
    errors.add(
        path, "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique"
    )


def _as_input(command: dict[str, Any]) -> dict[str, Any]:
    skip = {"id", "application_id", "version", "guild_id"}
    return {k: copy.deepcopy(v) for k, v in command.items() if k not in skip}


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    ignore = {"version"}
    return {k: v for k, v in old.items() if k not in ignore} == {
        k: v for k, v in new.items() if k not in ignore
    }
