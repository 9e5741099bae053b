"""Showing the coach's next step in Discord: people as mentions that ping nobody, times as
Discord's relative timestamps, messages as jump links, and member-typed words escaped."""

from __future__ import annotations

import discord

from bot.services.coach import MemberText, MessageRef, Moment, NextStep, Person
from cogs._safe_text import plain
from cogs._shared import message_link


def step_text(step: NextStep, guild_id: int, *, names: bool = False) -> str:
    """The step as message text; send it with ``allowed_mentions=NO_PINGS``.

    ``names``: people by name rather than as mentions (in a DM, a mention of someone the
    reader's client has not seen shows as "@unknown-user").
    """
    words: list[str] = []
    for part in step.parts:
        if isinstance(part, str):
            words.append(part)
        elif isinstance(part, Person):
            words.append(f"**{plain(part.name)}**" if names else f"<@{part.user_id}>")
        elif isinstance(part, Moment):
            words.append(discord.utils.format_dt(part.at, "R"))
        elif isinstance(part, MessageRef):
            link = message_link(guild_id, part.channel_id, part.message_id)
            words.append(f"[Jump to the message]({link})")
        elif isinstance(part, MemberText):
            words.append(plain(part.text))
    return "".join(words)
