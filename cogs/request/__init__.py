"""Request: `/ask` routed to likely helpers, answers in the ask's thread, Mark as helpful,
and `/asks open`."""

from __future__ import annotations

from bot.app import PLNCoachBot
from cogs.request.cog import Request


async def setup(bot: PLNCoachBot) -> None:
    await bot.add_cog(Request(bot))
