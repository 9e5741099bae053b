"""Per-member cooldowns: one member can't flood a channel with cards, questions or pings.

Built on discord.py's own ``dynamic_cooldown`` (a token bucket per key), keyed by server and
member so a busy member in one server is not slowed in another. The figures are well above
what a person does by hand (six shares a minute), so only scripts and spammers meet them; the
answer is the command tree's friendly "try again in N s". ``[limits] member_cooldowns = false``
turns them off, for benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import discord
from discord import app_commands

T = TypeVar("T")


def _member(interaction: discord.Interaction[Any]) -> tuple[int | None, int]:
    return (interaction.guild_id, interaction.user.id)


def per_member(rate: int, per: float) -> Callable[[T], T]:
    """At most ``rate`` uses per ``per`` seconds by one member in one server."""

    def cooldown(interaction: discord.Interaction[Any]) -> app_commands.Cooldown | None:
        settings = getattr(interaction.client, "settings", None)
        if settings is not None and not settings.limits.member_cooldowns:
            return None
        return app_commands.Cooldown(rate, per)

    return app_commands.checks.dynamic_cooldown(cooldown, key=_member)


# Public posts (a card, a thread that may ping helpers) and the costliest answers.
SHARE = per_member(6, 60)
ASK = per_member(3, 300)
INTRO = per_member(3, 60)
READS = per_member(6, 30)  # /progress (an image), /connect suggest, /converse, /resources
EXPORT = per_member(2, 600)
