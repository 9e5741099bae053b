"""Acknowledging an interaction and reading what its answer needs, at the same time.

A command acknowledges first (Discord wants that within 3 s, and the database may be slow), then
reads, then answers. Done one after the other, the bot sits idle for the acknowledgement's whole
round trip to Discord before it starts reading. For a command that only reads, nothing depends
on the order once the acknowledgement has left: the read runs while it travels, and the answer
waits for both. What a command stores waits for the acknowledgement: if Discord refuses it,
nothing may be stored. Such a command can still read what it needs this way (/ask reads whom
to name), and store once the acknowledgement is through.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import discord

T = TypeVar("T")

# Turns of the event loop that carry a request from discord.py into the socket: one for the
# task that started it, one for the task aiohttp writes the request body from (Python 3.11).
_TURNS_TO_SEND = 2


async def let_requests_leave() -> None:
    """Give requests just started the loop turns that carry them into the socket.

    For work that is about to hold the event loop (an inline SQLite unit): it would otherwise
    hold back a request started just before it. Work that waits on the network lets it go
    anyway.
    """
    for _ in range(_TURNS_TO_SEND):
        await asyncio.sleep(0)


async def acknowledged_while(
    interaction: discord.Interaction[Any], reading: Coroutine[Any, Any, T]
) -> T:
    """Acknowledge privately ("thinking…"), then run ``reading`` while the acknowledgement is
    on its way; both are done when this returns.

    ``reading`` must only read: it runs even if Discord then refuses the acknowledgement, whose
    error is raised in that case (without an acknowledgement the bot can't answer anything).
    """
    acknowledging = asyncio.ensure_future(interaction.response.defer(ephemeral=True, thinking=True))
    await let_requests_leave()
    try:
        return await reading
    finally:
        await acknowledging
