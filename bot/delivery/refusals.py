"""Sorting Discord's answers to a failed post: fix-it-yourself refusals versus try-again-later.

Permanent refusals end the post as failed with a reason an admin can act on (retrying them only
piles up invalid requests, which get bots banned); transient ones back off and retry. Discord's
raw error text never reaches a member: reasons here are ours.
"""

from __future__ import annotations

import aiohttp
import discord

from bot.services.outbox import Refusal

MISSING_PERMISSIONS = 50013
MISSING_ACCESS = 50001
UNKNOWN_CHANNEL = 10003
INVALID_FORM_BODY = 50035
CANNOT_SEND_IN_THREAD = 50083  # an archived thread

_PERMANENT_REASONS = {
    MISSING_PERMISSIONS: "I'm missing a permission there (Send Messages or Embed Links)",
    MISSING_ACCESS: "I can't see that channel (View Channel)",
    UNKNOWN_CHANNEL: "that channel no longer exists",
    INVALID_FORM_BODY: "Discord would not accept the post's content",
    CANNOT_SEND_IN_THREAD: "that thread is archived",
}


def missing_permissions_reason(missing: list[str]) -> Refusal:
    """A refusal decided from the cache, before any request was made."""
    return Refusal(
        reason=f"I'm missing {', '.join(missing)} there", permanent=True, code=MISSING_PERMISSIONS
    )


def refusal_for(error: BaseException) -> Refusal:
    """What a failed attempt means for the post."""
    if isinstance(error, discord.RateLimited):  # longer than discord.py is willing to wait
        return Refusal(
            reason="Discord asked me to slow down",
            permanent=False,
            code=429,
            retry_after=error.retry_after,
        )
    if isinstance(error, discord.DiscordServerError):
        return Refusal(reason="Discord had a problem", permanent=False, code=error.status)
    if isinstance(error, discord.HTTPException):
        reason = _PERMANENT_REASONS.get(error.code)
        if reason is None and error.status == 429:
            return Refusal(reason="Discord asked me to slow down", permanent=False, code=429)
        if reason is None and error.status in (403, 404):
            reason = "Discord refused the post there"
        if reason is None:
            reason = f"Discord refused the post (error {error.code or error.status})"
        return Refusal(reason=reason, permanent=True, code=error.code or error.status)
    if isinstance(error, TimeoutError | aiohttp.ClientError | OSError):
        return Refusal(reason="Discord did not answer in time", permanent=False)
    return Refusal(reason="something went wrong on my side", permanent=False)
