"""Acknowledging an interaction and doing its work at the same time.

A command acknowledges first (Discord wants that within 3 s, and the database may be slow), then
reads or stores, then answers. Done one after the other, the bot sits idle for the
acknowledgement's whole round trip to Discord before it starts its work. So the work runs while
the acknowledgement travels, and the answer waits for both.

Storing meanwhile means Discord may refuse the acknowledgement of something already stored. It
refuses one that comes after its 3 s, and one acknowledged already. So an interaction that
reaches the bot already late (over ``LATE_AFTER`` old by its id) is acknowledged first and its
work runs only once Discord took the acknowledgement: refused, it stores nothing. One that
reaches it a second time (a gateway resume replays events the bot had handled) is left to its
first copy (``RepeatedInteraction``): the two would race to acknowledge, and the loser may have
stored already. Past those, an acknowledgement is refused when the request fails on the way
(then whether Discord took it is unknown, and the member may well see "thinking…"): what was
stored stands, as the member asked for it and it was checked. Its post follows when its claim
lapses and its answer is dropped as undeliverable, as after a crash between storing and
answering. What a member is told is stored is always stored: the answer comes after both.

make bench, paced /share at 50/s (session 20): the write (the writers' turn, seven statements and
the commit, 1.5-2.3 ms) sat between the acknowledgement's round trip and the card.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, TypeVar

import discord

from bot.errors import RepeatedInteraction
from bot.interaction_delays import InteractionDelays

log = logging.getLogger(__name__)

T = TypeVar("T")

# Turns of the event loop that carry a request from discord.py into the socket: one for the
# task that started it, one for the task aiohttp writes the request body from (Python 3.11).
_TURNS_TO_SEND = 2

# How old (by its id, Discord's clock) an interaction may be for its work to run while the
# acknowledgement travels: Discord's 3 s less a second for the trip and for the two clocks.
LATE_AFTER = timedelta(seconds=2)

# Interactions remembered as seen: a resume replays seconds' worth of events, not thousands.
_REMEMBERED = 10_000


class SeenInteractions:
    """The ids of the interactions this process was given lately, to tell a repeat."""

    def __init__(self, keep: int = _REMEMBERED) -> None:
        self._keep = keep
        self._seen: OrderedDict[int, None] = OrderedDict()

    def first_time(self, interaction_id: int) -> bool:
        if interaction_id in self._seen:
            return False
        self._seen[interaction_id] = None
        if len(self._seen) > self._keep:
            self._seen.popitem(last=False)
        return True


_seen = SeenInteractions()
_delays = InteractionDelays()


async def let_requests_leave() -> None:
    """Give requests just started the loop turns that carry them into the socket.

    For work that is about to hold the event loop (an inline SQLite unit): it would otherwise
    hold back a request started just before it. Work that waits on the network lets it go
    anyway.
    """
    for _ in range(_TURNS_TO_SEND):
        await asyncio.sleep(0)


async def acknowledged_while(
    interaction: discord.Interaction[Any], work: Coroutine[Any, Any, T]
) -> T:
    """Acknowledge privately ("thinking…"), and run ``work`` (a read, or a write of what the
    member asked for) while the acknowledgement is on its way; both are done when this returns.

    If Discord refuses the acknowledgement, its error is raised (without one the bot can't
    answer anything); see the module doc for what ``work`` has done then. If ``work`` raises,
    its error is raised once the acknowledgement is through, so the error answer can edit it.
    """
    if not _seen.first_time(interaction.id):
        work.close()
        raise RepeatedInteraction
    acknowledging = interaction.response.defer(ephemeral=True, thinking=True)
    age = discord.utils.utcnow() - interaction.created_at
    warning = _delays.observe(age, late_after=LATE_AFTER)
    if warning is not None:
        log.warning(warning.text)
    if age > LATE_AFTER:
        try:
            await acknowledging
        except BaseException:
            work.close()  # never started: nothing stored
            raise
        return await work
    acknowledged = asyncio.ensure_future(acknowledging)
    try:
        await let_requests_leave()
        result = await work
    except BaseException:
        work.close()  # if it never started (cancelled before): nothing stored
        try:
            await acknowledged  # through or refused, before the error answer edits it
        except Exception:
            log.warning("Discord refused an acknowledgement; its work failed too", exc_info=True)
        raise
    try:
        await acknowledged
    except Exception:
        log.warning(
            "Discord refused an acknowledgement while its work ran (what it stored stands)",
            exc_info=True,
        )
        raise
    return result
