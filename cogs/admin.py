"""`/pln ...`: settings for server admins (today: where resource cards go)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PLNCoachBot
from bot.errors import UserFacingError
from cogs._shared import missing_card_permissions


class Admin(commands.GroupCog, group_name="pln", group_description="Set up PLN Coach."):
    def __init__(self, bot: PLNCoachBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(
        name="shares-channel",
        description="Choose where resource cards from /share are posted (admins).",
    )
    @app_commands.describe(
        channel="The channel for resource cards; leave empty to post where /share is used"
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def shares_channel(
        self,
        interaction: discord.Interaction[PLNCoachBot],
        channel: discord.TextChannel | None = None,
    ) -> None:
        guild = interaction.guild
        assert guild is not None
        if channel is not None:
            resolved = guild.get_channel(channel.id)
            if not isinstance(resolved, discord.TextChannel):
                raise UserFacingError("I can't see that channel. Pick a text channel I can read.")
            missing = missing_card_permissions(resolved.permissions_for(guild.me), in_thread=False)
            if missing:
                raise UserFacingError(
                    f"I can't post in {resolved.mention} yet: I'm missing {', '.join(missing)} "
                    "there. Grant those to my role in the channel settings, then try again."
                )
        await self.bot.services.server_settings.set_shares_channel(
            guild.id, guild.name, channel.id if channel else None
        )
        where = channel.mention if channel else "the channel where each `/share` is used"
        await interaction.response.send_message(
            f"Done: resource cards will be posted in {where}.", ephemeral=True
        )


async def setup(bot: PLNCoachBot) -> None:
    await bot.add_cog(Admin(bot))
