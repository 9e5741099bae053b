"""Connect: introductions, welcomes, and who to reach out to next."""

from __future__ import annotations

from bot.app import PLNCoachBot
from cogs.connect.cog import Connect


async def setup(bot: PLNCoachBot) -> None:
    await bot.add_cog(Connect(bot))
