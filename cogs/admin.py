"""`/pln ...`: settings for server admins (where resource cards, intro cards and asks go)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PLNCoachBot
from bot.challenges.schedules import PostKind, Schedule, Selection
from bot.delivery.answers import RenderedAnswer
from bot.errors import UserFacingError
from bot.habits import HABIT_ORDER, Habit
from bot.scheduling.weekly import ScheduleError, parse_zone
from bot.services.answers import OwedAnswer
from bot.services.channel_blocks import Block
from bot.services.outbox import PostStatus
from bot.services.server_settings import ChannelSetting
from bot.services.thresholds import HABIT_UNITS, ThresholdError, Thresholds
from cogs._admin import admin_only
from cogs._channels import ChannelCheck, ChannelUse, check_bot_can_post, check_channels
from cogs._setup_flow import Draft, SetupFlow
from cogs._shared import actor_from, answer_ticket, zone_autocomplete


def shares_channel_reply(channel_id: int | None) -> str:
    where = f"<#{channel_id}>" if channel_id else "the channel where each `/share` is used"
    return f"Done: resource cards will be posted in {where}."


def intros_channel_reply(channel_id: int | None) -> str:
    if channel_id is None:
        return (
            "Done: intro cards will be posted where each `/connect intro` is used, and welcomes "
            "for newcomers in the server's system messages channel."
        )
    return (
        f"Done: intro cards will be posted in <#{channel_id}>, and so will welcomes for "
        "newcomers when the members intent is on. Cards already posted stay where they are."
    )


def asks_channel_reply(channel_id: int | None) -> str:
    if channel_id is None:
        return "Done: each `/ask` opens its thread in the channel where it is used."
    return (
        f"Done: each `/ask` opens its thread in <#{channel_id}> (in a forum: a post, with the "
        "forum's tags that match the question's tags)."
    )


REPLIES: dict[ChannelSetting, Callable[[int | None], str]] = {
    ChannelSetting.SHARES: shares_channel_reply,
    ChannelSetting.INTROS: intros_channel_reply,
    ChannelSetting.ASKS: asks_channel_reply,
}


FALLBACKS: dict[ChannelSetting, str] = {
    ChannelSetting.SHARES: "where `/share` is used",
    ChannelSetting.INTROS: "where `/connect intro` is used (welcomes: the system channel)",
    ChannelSetting.ASKS: "where `/ask` is used",
}
LABELS: dict[ChannelSetting, str] = {
    ChannelSetting.SHARES: "Resource cards (`/pln shares-channel`)",
    ChannelSetting.INTROS: "Intro cards and welcomes (`/pln intros-channel`)",
    ChannelSetting.ASKS: "Questions (`/pln asks-channel`)",
}


CHECK_LABELS: dict[ChannelSetting, str] = {
    ChannelSetting.SHARES: "Resource cards",
    ChannelSetting.INTROS: "Intro cards and welcomes",
    ChannelSetting.ASKS: "Questions",
}
SCHEDULE_LABELS: dict[PostKind, str] = {
    PostKind.CHALLENGE: "Weekly challenge",
    PostKind.RECAP: "Weekly recap",
}


def channel_uses(
    channels: dict[ChannelSetting, int | None],
    schedules: dict[PostKind, Schedule],
    blocked: list[Block],
) -> list[ChannelUse]:
    """Every channel the bot is set to post in, and every channel where posting is paused."""
    uses = [
        ChannelUse(CHECK_LABELS[setting], channel_id, opens_thread=setting is ChannelSetting.ASKS)
        for setting, channel_id in channels.items()
        if channel_id is not None
    ]
    uses += [
        ChannelUse(SCHEDULE_LABELS[kind], schedule.channel_id)
        for kind, schedule in schedules.items()
    ]
    named = {use.channel_id for use in uses}
    uses += [
        ChannelUse("Paused after a refusal", block.channel_id)
        for block in blocked
        if block.channel_id not in named
    ]
    return uses


def check_text(checks: list[ChannelCheck], resumed: set[int], still_paused: set[int]) -> str:
    if not checks:
        return (
            "No channels are set yet, so I post where each command is used. "
            "Run `/pln setup` to choose channels."
        )
    lines = ["**Permission check**", *(check.line() for check in checks)]
    if resumed:
        where = ", ".join(f"<#{channel_id}>" for channel_id in sorted(resumed))
        lines.append(f"▶️ Posting resumed in {where}.")
    if still_paused:
        where = ", ".join(f"<#{channel_id}>" for channel_id in sorted(still_paused))
        lines.append(
            f"⏸️ Posting stays paused in {where} until I have what's missing; "
            "run `/pln check` again once it's granted."
        )
    if all(check.ok for check in checks):
        lines.append("All good: I can post everywhere I'm set up to.")
    else:
        lines.append(
            "Grant what's missing to my role in each channel's settings (Edit Channel → "
            "Permissions), then run `/pln check` again."
        )
    return "\n".join(lines)


HABIT_CHOICES = [
    app_commands.Choice(name=habit.display_name, value=habit.value) for habit in HABIT_ORDER
]


def thresholds_text(thresholds: Thresholds, changed: Habit | None = None) -> str:
    lines = ["Done: saved." if changed else "**What each level needs in this server**"]
    for habit in HABIT_ORDER if changed is None else (changed,):
        levels = thresholds.of(habit)
        started, practicing, made = HABIT_UNITS[habit]
        lines.append(
            f"**{habit.display_name}**: Started: {started} ≥ {levels.started} · Practicing: "
            f"{practicing} ≥ {levels.practicing} · Habit: {made} ≥ {levels.habit}"
        )
    if changed is None:
        lines.append(
            "Change one with `/pln thresholds habit:<habit> started:<n> practicing:<n> "
            "habit_level:<n>`, or put back the defaults with `reset:True`."
        )
    return "\n".join(lines)


def settings_text(
    channels: dict[ChannelSetting, int | None],
    schedules: dict[PostKind, Schedule],
    selection: Selection,
    blocked: list[Block] | None = None,
) -> str:
    lines = ["**PLN Coach in this server**"]
    for setting, channel_id in channels.items():
        where = f"<#{channel_id}>" if channel_id else FALLBACKS[setting]
        lines.append(f"• {LABELS[setting]}: {where}")
    for kind, command in ((PostKind.CHALLENGE, "/challenge"), (PostKind.RECAP, "/recap")):
        schedule = schedules.get(kind)
        what = "Weekly challenge" if kind is PostKind.CHALLENGE else "Weekly recap"
        if schedule is None:
            lines.append(f"• {what}: not scheduled (`{command} schedule`)")
            continue
        follows = " (the day before the challenge)" if schedule.follows_challenge else ""
        lines.append(
            f"• {what}: <#{schedule.channel_id}>, {schedule.weekly.describe()}{follows}; "
            f"next {discord.utils.format_dt(schedule.next_run_at, 'F')}"
        )
    how = "rotating the four habits" if selection is Selection.ROTATE else "the weakest habit"
    lines.append(f"• Challenges are picked by {how} (`/challenge selection`)")
    for block in blocked or []:
        lines.append(
            f"⏸️ Posting paused in <#{block.channel_id}> since "
            f"{discord.utils.format_dt(block.blocked_at, 'R')}: {block.reason}. "
            "Fix it, then run `/pln check`."
        )
    return "\n".join(lines)


class Admin(commands.GroupCog, group_name="pln", group_description="Set up PLN Coach."):
    def __init__(self, bot: PLNCoachBot) -> None:
        self.bot = bot
        super().__init__()

    async def cog_load(self) -> None:
        for setting in ChannelSetting:
            self.bot.renderers.answers[setting.value] = self._render_reply

    async def cog_unload(self) -> None:
        for setting in ChannelSetting:
            self.bot.renderers.answers.pop(setting.value, None)

    async def _set(
        self,
        interaction: discord.Interaction[PLNCoachBot],
        setting: ChannelSetting,
        channel: discord.abc.GuildChannel | None,
        *,
        opens_thread: bool = False,
    ) -> None:
        guild = interaction.guild
        assert guild is not None
        if channel is not None:
            check_bot_can_post(guild, channel, opens_thread=opens_thread)
        await interaction.response.defer(ephemeral=True, thinking=True)
        channel_id = channel.id if channel else None
        owed = await self.bot.services.server_settings.set_channel(
            actor_from(interaction), setting, channel_id, answer=answer_ticket(interaction)
        )
        await self.bot.answers.deliver(owed, RenderedAnswer(REPLIES[setting](channel_id)))

    @admin_only
    @app_commands.command(
        name="shares-channel",
        description="Choose where resource cards from /share are posted (admins).",
    )
    @app_commands.describe(
        channel="The channel for resource cards; leave empty to post where /share is used"
    )
    @app_commands.guild_only()
    async def shares_channel(
        self,
        interaction: discord.Interaction[PLNCoachBot],
        channel: discord.TextChannel | None = None,
    ) -> None:
        await self._set(interaction, ChannelSetting.SHARES, channel)

    @admin_only
    @app_commands.command(
        name="intros-channel",
        description="Choose where intro cards and welcomes are posted (admins).",
    )
    @app_commands.describe(
        channel="The channel for intro cards; leave empty to post where /connect intro is used"
    )
    @app_commands.guild_only()
    async def intros_channel(
        self,
        interaction: discord.Interaction[PLNCoachBot],
        channel: discord.TextChannel | None = None,
    ) -> None:
        await self._set(interaction, ChannelSetting.INTROS, channel)

    @admin_only
    @app_commands.command(
        name="asks-channel",
        description="Choose where /ask opens question threads: a text channel or a forum (admins).",
    )
    @app_commands.describe(
        channel="A text channel or forum for questions; leave empty to use the channel of /ask"
    )
    @app_commands.guild_only()
    async def asks_channel(
        self,
        interaction: discord.Interaction[PLNCoachBot],
        channel: discord.TextChannel | discord.ForumChannel | None = None,
    ) -> None:
        await self._set(interaction, ChannelSetting.ASKS, channel, opens_thread=True)

    @admin_only
    @app_commands.command(
        name="setup",
        description="Set up PLN Coach step by step: channels, timezone, weekly schedule (admins).",
    )
    @app_commands.describe(timezone="Your time zone, e.g. America/Chicago (start typing a city)")
    @app_commands.guild_only()
    async def setup_flow(
        self, interaction: discord.Interaction[PLNCoachBot], timezone: str | None = None
    ) -> None:
        guild = interaction.guild
        assert guild is not None
        zone = None
        if timezone is not None:
            try:
                zone = parse_zone(timezone)
            except ScheduleError as error:
                raise UserFacingError(str(error)) from None
        await interaction.response.defer(ephemeral=True, thinking=True)
        draft = Draft.of(await self.bot.services.setup.current(guild.id))
        if zone is not None:
            draft = replace(draft, zone=zone, zone_chosen=True)
        flow = SetupFlow(self.bot, interaction.user.id, draft, self._summary)
        await interaction.edit_original_response(
            content=flow.text(), view=flow, allowed_mentions=discord.AllowedMentions.none()
        )

    @setup_flow.autocomplete("timezone")
    async def _zones(
        self, _interaction: discord.Interaction[PLNCoachBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return zone_autocomplete(current)

    async def _summary(self, guild: discord.Guild) -> str:
        services = self.bot.services
        return settings_text(
            await services.server_settings.channels(guild.id),
            await services.schedules.schedules(guild.id),
            await services.schedules.selection(guild.id),
            await services.channel_blocks.blocked(guild.id),
        )

    @admin_only
    @app_commands.command(name="settings", description="See how PLN Coach is set up here (admins).")
    @app_commands.guild_only()
    async def settings(self, interaction: discord.Interaction[PLNCoachBot]) -> None:
        guild = interaction.guild
        assert guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.edit_original_response(content=await self._summary(guild))

    @admin_only
    @app_commands.command(
        name="check",
        description="Check I can post where I'm set up to, and resume paused channels (admins).",
    )
    @app_commands.guild_only()
    async def check(self, interaction: discord.Interaction[PLNCoachBot]) -> None:
        guild = interaction.guild
        assert guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        services = self.bot.services
        blocked = await services.channel_blocks.blocked(guild.id)
        uses = channel_uses(
            await services.server_settings.channels(guild.id),
            await services.schedules.schedules(guild.id),
            blocked,
        )
        checks = await check_channels(guild, uses)
        failing = {check.use.channel_id for check in checks if not check.ok}
        paused = {block.channel_id for block in blocked}
        resumed = paused - failing
        await services.channel_blocks.unblock(guild.id, resumed)
        self.bot.blocked_channels.resumed(resumed)
        if resumed:
            self.bot.posts.wake()
        await interaction.edit_original_response(
            content=check_text(checks, resumed, paused & failing),
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @admin_only
    @app_commands.command(
        name="thresholds",
        description="See or change what each habit's levels need in this server (admins).",
    )
    @app_commands.describe(
        habit="The habit to change; leave empty to see every habit's figures",
        started="What Started needs (e.g. Connect: colleagues reached)",
        practicing="What Practicing needs (e.g. Connect: colleagues reached)",
        habit_level="What Habit needs (e.g. Connect: active weeks of the last 4)",
        reset="Put back the product's defaults for this habit",
    )
    @app_commands.choices(habit=HABIT_CHOICES)
    @app_commands.guild_only()
    async def thresholds(
        self,
        interaction: discord.Interaction[PLNCoachBot],
        habit: str | None = None,
        started: app_commands.Range[int, 1, 100] | None = None,
        practicing: app_commands.Range[int, 1, 100] | None = None,
        habit_level: app_commands.Range[int, 1, 100] | None = None,
        reset: bool = False,
    ) -> None:
        guild = interaction.guild
        assert guild is not None
        changes = (started, practicing, habit_level)
        if habit is None and (reset or any(value is not None for value in changes)):
            raise UserFacingError("Pick the habit to change with the `habit` option.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        service = self.bot.services.thresholds
        if habit is None or (not reset and all(value is None for value in changes)):
            shown = await service.thresholds(guild.id)
            await interaction.edit_original_response(content=thresholds_text(shown))
            return
        chosen = Habit(habit)
        try:
            saved = await service.set(
                actor_from(interaction),
                chosen,
                started=started,
                practicing=practicing,
                habit_level=habit_level,
                reset=reset,
            )
        except ThresholdError as error:
            await interaction.edit_original_response(content=f"Not saved: {error}")
            return
        await interaction.edit_original_response(content=thresholds_text(saved, chosen))

    async def _render_reply(self, answer: OwedAnswer, _post: PostStatus | None) -> str:
        return REPLIES[ChannelSetting(answer.kind)](answer.subject_id or None)


async def setup(bot: PLNCoachBot) -> None:
    await bot.add_cog(Admin(bot))
