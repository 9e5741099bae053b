"""``/pln setup``: two pages of selects (channels, then the weekly schedule), checked, then saved.

Nothing is saved until the admin presses **Check and save**, and not then if the bot lacks a
permission in a chosen channel: the flow names exactly what is missing where, so the admin can
fix it and press again. The draft lives in this message's view (15 minutes, like its token).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import time
from typing import Any

import discord

from bot.app import PLNCoachBot
from bot.scheduling.weekly import WEEKDAYS
from bot.services.server_settings import ChannelSetting
from bot.services.server_setup import SetupChoice
from cogs._channels import ChannelUse, check_channels
from cogs._shared import actor_from

FLOW_MINUTES = 15
POPULAR_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Toronto",
    "America/Vancouver",
    "America/Mexico_City",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "UTC",
)
TEXT = discord.ChannelType.text
FORUM = discord.ChannelType.forum

# Page one: where each kind of post goes.
CHANNEL_PICKS: tuple[tuple[str, str, list[discord.ChannelType]], ...] = (
    (ChannelSetting.INTROS.value, "Intro cards and welcomes", [TEXT]),
    (ChannelSetting.SHARES.value, "Resource cards from /share", [TEXT]),
    (ChannelSetting.ASKS.value, "Questions from /ask (a text channel or forum)", [TEXT, FORUM]),
    ("challenge", "The weekly challenge", [TEXT]),
)
LABELS = {key: label for key, label, _types in CHANNEL_PICKS} | {"recap": "The weekly recap"}


@dataclass(frozen=True, slots=True)
class Draft:
    """The admin's picks so far, by key: a channel setting, "challenge" or "recap"."""

    channels: dict[str, int | None]
    weekday: int
    at: time
    zone: str
    zone_chosen: bool

    @classmethod
    def of(cls, choice: SetupChoice) -> Draft:
        channels: dict[str, int | None] = {
            setting.value: channel_id for setting, channel_id in choice.channels.items()
        }
        channels["challenge"] = choice.challenge_channel_id
        channels["recap"] = choice.recap_channel_id
        return cls(channels, choice.weekday, choice.at, choice.zone, choice.zone_chosen)

    def choice(self) -> SetupChoice:
        return SetupChoice(
            channels={setting: self.channels.get(setting.value) for setting in ChannelSetting},
            challenge_channel_id=self.channels.get("challenge"),
            recap_channel_id=self.channels.get("recap"),
            weekday=self.weekday,
            at=self.at,
            zone=self.zone,
            zone_chosen=self.zone_chosen,
        )

    def uses(self) -> list[ChannelUse]:
        return [
            ChannelUse(LABELS[key], channel_id, opens_thread=key == ChannelSetting.ASKS.value)
            for key, channel_id in self.channels.items()
            if channel_id is not None
        ]


def _where(channel_id: int | None, fallback: str) -> str:
    return f"<#{channel_id}>" if channel_id else fallback


class SetupFlow(discord.ui.View):
    def __init__(
        self,
        bot: PLNCoachBot,
        admin_id: int,
        draft: Draft,
        summary: Callable[[discord.Guild], Awaitable[str]],
    ) -> None:
        super().__init__(timeout=FLOW_MINUTES * 60)
        self.bot = bot
        # The whole set-up in words, as /pln settings shows it: the answer once saved.
        self.summary = summary
        self.admin_id = admin_id
        self.draft = draft
        self.page = 1
        self.problems = ""
        self.show_page(1)

    # -- what the admin sees -------------------------------------------------------------

    def text(self) -> str:
        draft = self.draft
        if self.page == 1:
            lines = [
                "**Set up PLN Coach** · step 1 of 2: channels",
                "Pick where each kind of post goes. Leave one empty to post where its command "
                "is used; leave the weekly challenge empty for no weekly challenge.",
            ]
        else:
            challenge = draft.channels.get("challenge")
            when = f"{WEEKDAYS[draft.weekday]}s at {draft.at:%H:%M} ({draft.zone})"
            zone_note = "" if draft.zone_chosen else " ← a guess: pick your timezone below"
            lines = [
                "**Set up PLN Coach** · step 2 of 2: the weekly schedule",
                f"Weekly challenge: {_where(challenge, 'none')}, {when}{zone_note}",
                "Weekly recap: "
                + _where(draft.channels.get("recap"), "with the challenge")
                + ", the day before the challenge, same time.",
                "Any other timezone: run `/pln setup timezone:` and start typing a city.",
            ]
        if self.problems:
            lines += ["", self.problems]
        return "\n".join(lines)

    def show_page(self, page: int) -> None:
        self.page = page
        self.clear_items()
        if page == 1:
            for row, (key, label, types) in enumerate(CHANNEL_PICKS):
                self.add_item(self._channel_select(key, label, types, row))
            self.add_item(self._button("next", "Next: weekly schedule →", 4, self._next))
            return
        self.add_item(self._channel_select("recap", "The weekly recap (empty: with it)", [TEXT], 0))
        self.add_item(
            self._string_select(
                "weekday",
                "Day of the week",
                [(day, str(number)) for number, day in enumerate(WEEKDAYS)],
                str(self.draft.weekday),
                1,
            )
        )
        hours = [time(hour, 0) for hour in range(24)]
        if self.draft.at not in hours:
            hours[self.draft.at.hour] = self.draft.at
        self.add_item(
            self._string_select(
                "time",
                "Local time",
                [(f"{at:%H:%M}", f"{at:%H:%M}") for at in hours],
                f"{self.draft.at:%H:%M}",
                2,
            )
        )
        zones = list(POPULAR_ZONES)
        if self.draft.zone not in zones:
            zones[-1] = self.draft.zone
        self.add_item(
            self._string_select(
                "zone", "Timezone", [(zone, zone) for zone in zones], self.draft.zone, 3
            )
        )
        self.add_item(self._button("back", "← Channels", 4, self._back))
        save = self._button("save", "Check and save", 4, self._save)
        save.style = discord.ButtonStyle.success
        self.add_item(save)

    def _channel_select(
        self, key: str, label: str, types: list[discord.ChannelType], row: int
    ) -> discord.ui.ChannelSelect[SetupFlow]:
        current = self.draft.channels.get(key)
        select: discord.ui.ChannelSelect[SetupFlow] = discord.ui.ChannelSelect(
            custom_id=f"pln-setup:{key}",
            channel_types=types,
            placeholder=f"{label}: pick a channel",
            min_values=0,
            max_values=1,
            default_values=[discord.Object(current)] if current else [],
            row=row,
        )

        async def picked(interaction: discord.Interaction[Any]) -> None:
            channel_id = select.values[0].id if select.values else None
            self.draft = replace(self.draft, channels={**self.draft.channels, key: channel_id})
            self.show_page(self.page)  # the menus show the new pick as their default
            await interaction.response.edit_message(content=self.text(), view=self)

        select.callback = picked  # type: ignore[method-assign]
        return select

    def _string_select(
        self, key: str, label: str, options: list[tuple[str, str]], current: str, row: int
    ) -> discord.ui.Select[SetupFlow]:
        select: discord.ui.Select[SetupFlow] = discord.ui.Select(
            custom_id=f"pln-setup:{key}",
            placeholder=label,
            options=[
                discord.SelectOption(label=name, value=value, default=value == current)
                for name, value in options
            ],
            row=row,
        )

        async def picked(interaction: discord.Interaction[Any]) -> None:
            value = select.values[0]
            if key == "weekday":
                self.draft = replace(self.draft, weekday=int(value))
            elif key == "time":
                hour, minute = (int(part) for part in value.split(":"))
                self.draft = replace(self.draft, at=time(hour, minute))
            else:
                self.draft = replace(self.draft, zone=value, zone_chosen=True)
            self.show_page(2)
            await interaction.response.edit_message(content=self.text(), view=self)

        select.callback = picked  # type: ignore[method-assign]
        return select

    @staticmethod
    def _button(key: str, label: str, row: int, action: Any) -> discord.ui.Button[SetupFlow]:
        button: discord.ui.Button[SetupFlow] = discord.ui.Button(
            custom_id=f"pln-setup:{key}", label=label, row=row
        )
        button.callback = action  # type: ignore[method-assign]
        return button

    # -- what the buttons do ---------------------------------------------------------------

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id != self.admin_id:
            await interaction.response.send_message(
                "This set-up belongs to the admin who started it; run `/pln setup` yourself.",
                ephemeral=True,
            )
            return False
        return True

    async def _next(self, interaction: discord.Interaction[Any]) -> None:
        self.problems = ""
        self.show_page(2)
        await interaction.response.edit_message(content=self.text(), view=self)

    async def _back(self, interaction: discord.Interaction[Any]) -> None:
        self.problems = ""
        self.show_page(1)
        await interaction.response.edit_message(content=self.text(), view=self)

    async def _save(self, interaction: discord.Interaction[Any]) -> None:
        guild = interaction.guild
        if guild is None or not interaction.permissions.manage_guild:  # checked again: roles change
            await interaction.response.send_message(
                "You need **Manage Server** to do that.", ephemeral=True
            )
            return
        await interaction.response.defer()
        checks = await check_channels(guild, self.draft.uses())
        failing = [check for check in checks if not check.ok]
        if failing:
            self.problems = "\n".join(
                [
                    "**Not saved yet.** I can't post everywhere you picked:",
                    *(check.line() for check in failing),
                    "Grant those to my role in each channel's settings (or pick another "
                    "channel), then press **Check and save** again.",
                ]
            )
            await interaction.edit_original_response(content=self.text(), view=self)
            return
        await self.bot.services.setup.save(actor_from(interaction), self.draft.choice())
        self.bot.schedules_changed()
        self.stop()
        saved = "**Saved.** " + await self.summary(guild)
        await interaction.edit_original_response(content=saved, view=None)
