"""Reading what the sandbox user types: `/share url:https://... title:Fractions warm-up`.

Option values may contain spaces; a value runs until the next ``name:`` of an option the
command really has, which is how Discord's own client reads a pasted command line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SUBCOMMAND = 1
SUBCOMMAND_GROUP = 2


class CommandLineError(ValueError):
    """The line cannot be turned into a slash command; the message says how to fix it."""


@dataclass(frozen=True, slots=True)
class SlashInput:
    name: str  # "share", or "pln shares-channel" for a subcommand
    options: dict[str, str] = field(default_factory=dict)
    option_types: dict[str, int] = field(default_factory=dict)


def _leaf(command: dict[str, Any], words: list[str]) -> tuple[list[str], dict[str, Any]]:
    """Walk subcommand groups/subcommands named by the leading words."""
    path = [command["name"]]
    node = command
    while any(opt.get("type") in (SUBCOMMAND, SUBCOMMAND_GROUP) for opt in node.get("options", [])):
        children = {opt["name"]: opt for opt in node["options"]}
        if not words or words[0] not in children:
            names = ", ".join(sorted(children))
            raise CommandLineError(f"/{' '.join(path)} needs one of: {names}")
        node = children[words.pop(0)]
        path.append(node["name"])
    return path, node


def parse_slash(line: str, commands: list[dict[str, Any]]) -> SlashInput:
    text = line.strip()
    if not text.startswith("/"):
        raise CommandLineError("Slash commands start with /, e.g. /share url:https://example.org")
    head, _, rest = text[1:].partition(" ")
    by_name = {command["name"]: command for command in commands if command.get("type", 1) == 1}
    if head not in by_name:
        raise CommandLineError(f"Unknown command /{head}. Try: {', '.join(sorted(by_name))}")
    words = rest.split()
    path, leaf = _leaf(by_name[head], words)
    for _ in range(len(path) - 1):
        rest = rest.strip().split(" ", 1)[1] if " " in rest.strip() else ""
    known = {opt["name"]: opt for opt in leaf.get("options", [])}
    options: dict[str, str] = {}
    if known:
        pattern = re.compile(r"(?:^|\s)(" + "|".join(re.escape(name) for name in known) + r"):")
        matches = list(pattern.finditer(rest))
        leading = rest[: matches[0].start()] if matches else rest
        if leading.strip():
            raise CommandLineError(
                f"Write options as name:value. /{' '.join(path)} takes: " + ", ".join(known)
            )
        for index, match in enumerate(matches):
            end = matches[index + 1].start() if index + 1 < len(matches) else len(rest)
            value = rest[match.end() : end].strip()
            if value:  # like Discord's client: an option left empty is not sent
                options[match.group(1)] = value
    elif rest.strip():
        raise CommandLineError(f"/{' '.join(path)} takes no options.")
    missing = [name for name, opt in known.items() if opt.get("required") and name not in options]
    if missing:
        raise CommandLineError(f"/{' '.join(path)} needs {', '.join(m + ':' for m in missing)}")
    types = {name: int(opt.get("type", 3)) for name, opt in known.items() if name in options}
    return SlashInput(" ".join(path), options, types)
