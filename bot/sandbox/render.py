"""Showing Discord messages in a terminal: content, embeds as boxes, buttons as [n] labels."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

EPHEMERAL = 1 << 6
WIDTH = 72

_USER_MENTION = re.compile(r"(?<!\\)<@!?(\d+)>")
_CHANNEL_MENTION = re.compile(r"(?<!\\)<#(\d+)>")
_TIMESTAMP = re.compile(r"(?<!\\)<t:(\d+)(?::[tTdDfFR])?>")
# Discord hides a backslash before any character that is not a letter, digit or space.
_ESCAPE = re.compile(r"\\([^0-9A-Za-z\s])")


def _readable(text: str, names: Callable[[int], str]) -> str:
    """As a member would read it in Discord: mentions as names, escapes gone."""
    text = _USER_MENTION.sub(lambda m: "@" + names(int(m.group(1))), text)
    text = _CHANNEL_MENTION.sub(lambda m: "#" + names(int(m.group(1))), text)
    text = _TIMESTAMP.sub(
        lambda m: datetime.fromtimestamp(int(m.group(1)), UTC).strftime("%Y-%m-%d"), text
    )
    return _ESCAPE.sub(r"\1", text)


def _wrap(text: str, indent: str) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(paragraph, WIDTH - len(indent)) or [""])
    return [indent + line for line in lines]


BUTTON = 2
# String, user, role, mentionable and channel select menus.
SELECTS = (3, 5, 6, 7, 8)
_PICK = {5: "a member", 6: "a role", 7: "a member or role", 8: "a channel"}


def buttons_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Buttons and select menus, in the order a member sees them: each gets a number."""
    return [
        component
        for row in message.get("components", [])
        for component in row.get("components", [])
        if component.get("type") == BUTTON or component.get("type") in SELECTS
    ]


def _select_line(select: dict[str, Any], names: Callable[[int], str]) -> str:
    what = select.get("placeholder") or "Choose"
    if select.get("type") == 3:
        options = select.get("options", [])
        chosen = [o["label"] for o in options if o.get("default")]
        listed = ", ".join(o["label"] for o in options[:8]) + (", ..." if len(options) > 8 else "")
        now = f" [now: {', '.join(chosen)}]" if chosen else ""
        return f"▾ {what}{now} ({listed})"
    optional = ", or nothing to clear it" if select.get("min_values", 1) == 0 else ""
    picked = [names(int(default["id"])) for default in select.get("default_values", [])]
    prefix = "#" if select.get("type") == 8 else ""
    now = f" [now: {', '.join(prefix + name for name in picked)}]" if picked else ""
    return f"▾ {what}{now} (:choose with {_PICK.get(select.get('type', 8), 'a value')}{optional})"


def render_message(
    message: dict[str, Any],
    *,
    author: str,
    where: str,
    names: Callable[[int], str],
    button_numbers: list[int] | None = None,
) -> str:
    """A message as terminal lines; ``names`` turns ids into names for mentions."""
    private = bool(int(message.get("flags", 0)) & EPHEMERAL)
    header = f"{author} in {where}" + ("  (only you can see this)" if private else "")
    lines = [header]
    if message.get("content"):
        lines.extend(_wrap(_readable(message["content"], names), "  "))
    for embed in message.get("embeds", []):
        lines.append("  ┌" + "─" * (WIDTH - 4))
        if embed.get("author", {}).get("name"):
            lines.extend(_wrap(embed["author"]["name"], "  │ "))
        if embed.get("title"):
            lines.extend(_wrap(f"** {_readable(embed['title'], names)} **", "  │ "))
        if embed.get("url"):
            lines.extend(_wrap(embed["url"], "  │ "))
        if embed.get("description"):
            lines.extend(_wrap(_readable(embed["description"], names), "  │ "))
        for embed_field in embed.get("fields", []):
            lines.extend(_wrap(_readable(embed_field["name"], names), "  │ "))
            lines.extend(_wrap(_readable(embed_field["value"], names), "  │   "))
        if embed.get("footer", {}).get("text"):
            lines.extend(_wrap(embed["footer"]["text"], "  │ "))
        lines.append("  └" + "─" * (WIDTH - 4))
    buttons = buttons_of(message)
    numbers = button_numbers or list(range(1, len(buttons) + 1))
    for number, button in zip(numbers, buttons, strict=False):
        if button.get("type") in SELECTS:
            lines.append(f"  [{number}] {_select_line(button, names)}")
            continue
        emoji = button.get("emoji") or {}
        label = " ".join(part for part in (emoji.get("name"), button.get("label")) if part)
        lines.append(f"  [{number}] {label}")
    return "\n".join(lines)
