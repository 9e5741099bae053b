"""Keep under Discord's global limit of 50 REST requests per second per bot.

discord.py honours a global 429 once it gets one, but does not pace itself before: a weekly
fan-out to thousands of servers would run into 429s (and Discord bans bots after 10,000 invalid
requests in 10 minutes). aiolimiter's leaky bucket paces every bot-authenticated request;
interaction answers and webhooks are outside the global limit and are not held back.

In any one second the bucket lets through at most its rate plus its capacity, so both together
stay below 50 while the rate stays close to it.
"""

from __future__ import annotations

from typing import Any

import discord
from aiolimiter import AsyncLimiter

# Interaction callbacks and follow-ups (webhooks) do not count toward the global limit.
EXEMPT_PREFIXES = ("/interactions/", "/webhooks/")
BURST = 2.0


def limit_rest_requests(http: discord.http.HTTPClient, per_second: float) -> AsyncLimiter:
    """Pace ``http``'s requests to ``per_second``; returns the limiter (for tests)."""
    burst = min(BURST, per_second)
    limiter = AsyncLimiter(burst, burst / per_second)
    unpaced = http.request

    async def paced(route: discord.http.Route, **kwargs: Any) -> Any:
        if not route.path.startswith(EXEMPT_PREFIXES):
            await limiter.acquire()
        return await unpaced(route, **kwargs)

    http.request = paced  # type: ignore[method-assign]
    return limiter
