"""Contribute: `/share` and the resource cards it posts."""

from __future__ import annotations

from bot.app import PLNCoachBot
from cogs.contribute.cog import Contribute


async def setup(bot: PLNCoachBot) -> None:
    await bot.add_cog(Contribute(bot))
