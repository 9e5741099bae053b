"""`/ping`: is the bot alive, and how fast is it talking to Discord?"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PLNCoachBot


class Health(commands.Cog):
    def __init__(self, bot: PLNCoachBot) -> None:
        self.bot = bot

    @app_commands.command(name="ping", description="Check that PLN Coach is awake.")
    async def ping(self, interaction: discord.Interaction[PLNCoachBot]) -> None:
        latency = self.bot.latency
        shown = f"{latency * 1000:.0f} ms" if latency == latency else "unknown"  # NaN before a beat
        await interaction.response.send_message(
            f"Pong! I'm here. Gateway latency: {shown}.", ephemeral=True
        )


async def setup(bot: PLNCoachBot) -> None:
    await bot.add_cog(Health(bot))
