"""Discord's refusals sorted into fix-it-yourself (never retried) and try-again-later."""

from __future__ import annotations

from types import SimpleNamespace

import aiohttp
import discord
import pytest

from bot.delivery.refusals import refusal_for


def _http_error(status: int, code: int, message: str) -> discord.HTTPException:
    response = SimpleNamespace(status=status, reason=message)
    error_class = {403: discord.Forbidden, 404: discord.NotFound}.get(status, discord.HTTPException)
    if status >= 500:
        error_class = discord.DiscordServerError
    return error_class(response, {"code": code, "message": message})


@pytest.mark.parametrize(
    ("status", "code", "reason"),
    [
        (403, 50013, "I'm missing a permission there (Send Messages or Embed Links)"),
        (403, 50001, "I can't see that channel (View Channel)"),
        (404, 10003, "that channel no longer exists"),
        (400, 50035, "Discord would not accept the post's content"),
        (400, 50083, "that thread is archived"),
    ],
)
def test_permanent_refusals_end_the_post_with_our_own_words(
    status: int, code: int, reason: str
) -> None:
    refusal = refusal_for(_http_error(status, code, "Invalid Form Body / In embeds.0.url"))
    assert refusal.permanent
    assert refusal.code == code
    assert refusal.reason == reason
    assert "Invalid Form Body" not in refusal.reason  # Discord's raw text stays in the log


@pytest.mark.parametrize(
    "error",
    [
        discord.RateLimited(45.0),
        _http_error(502, 0, "Bad Gateway"),
        TimeoutError(),
        aiohttp.ClientConnectionError("reset"),
    ],
)
def test_slow_downs_and_outages_are_retried(error: BaseException) -> None:
    refusal = refusal_for(error)
    assert not refusal.permanent


def test_a_long_rate_limit_keeps_discords_retry_after() -> None:
    assert refusal_for(discord.RateLimited(45.0)).retry_after == 45.0
