"""Weekly challenges and recaps: `/challenge`, `/recap`, their posts and the "I did it" button."""

from __future__ import annotations

from bot.app import PLNCoachBot
from cogs.challenges.cog import Challenges


async def setup(bot: PLNCoachBot) -> None:
    await bot.add_cog(Challenges(bot))
