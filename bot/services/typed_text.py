"""What members type, made storable in every database the bot runs on."""

from __future__ import annotations

NUL = "\x00"


def storable(text: str) -> str:
    """``text`` without NUL characters, which show as nothing in Discord.

    Discord's client lets a member send them in an option or a form, and PostgreSQL refuses
    them in text (as a value or a query parameter), so a title with one would fail the command.
    """
    return text.replace(NUL, "")
