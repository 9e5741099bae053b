"""Helpers for tests of passive tracking: the bot's intents, raw frames it received, waiting."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import discord
from discord.ext import commands

from .conftest import Harness


def passive_intents(*, message_content: bool = False) -> discord.Intents:
    """What the bot tracks with: GUILDS, GUILD_MESSAGES, GUILD_MESSAGE_REACTIONS."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.guild_reactions = True
    intents.message_content = message_content
    return intents


async def wait_for(predicate: Callable[[], Any], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.01)


@dataclass
class Frames:
    """Every dispatch the bot's websocket received, decoded, in order."""

    received: list[dict[str, Any]] = field(default_factory=list)

    def of(self, event: str) -> list[dict[str, Any]]:
        return [f["d"] for f in self.received if f.get("t") == event]

    def seqs(self, event: str) -> list[int]:
        return [f["s"] for f in self.received if f.get("t") == event]


async def start_passive_bot(
    harness: Harness, *, message_content: bool = False, intents: discord.Intents | None = None
) -> tuple[commands.Bot, Frames]:
    """A ready bot with the tracking intents that records its raw gateway frames."""
    bot = harness.make_bot(
        intents=intents or passive_intents(message_content=message_content),
        enable_debug_events=True,
    )
    frames = Frames()

    async def on_socket_raw_receive(raw: str) -> None:
        frame = json.loads(raw)
        if frame.get("op") == 0:
            frames.received.append(frame)

    bot.add_listener(on_socket_raw_receive)
    await harness.start(bot)
    return bot, frames


def collect(bot: commands.Bot, event: str) -> list[Any]:
    """What ``on_<event>`` listeners receive, in order (the first argument of each call)."""
    seen: list[Any] = []

    async def listener(first: Any, *rest: Any) -> None:
        seen.append(first if not rest else (first, *rest))

    bot.add_listener(listener, f"on_{event}")
    return seen
