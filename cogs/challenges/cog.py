"""`/challenge` and `/recap`: schedules, the bank, the week's challenge and its recap.

Admin subcommands share their group with members' ones (Discord sets default permissions per
top-level command only), so Manage Server is checked when they run; members never see a change.
"""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import timedelta

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PLNCoachBot
from bot.challenges.bank import Difficulty
from bot.challenges.catalogue import Removed
from bot.challenges.completions import Reported, WeekChallenge
from bot.challenges.schedules import PostKind, Schedule, Selection
from bot.delivery.renderers import OutgoingPost
from bot.errors import UserFacingError
from bot.habits import HABIT_ORDER, Habit
from bot.images.recap_chart import FunnelStep, RecapChart, TrendWeek, draw_recap_chart
from bot.scheduling.weekly import (
    WEEKDAYS,
    ScheduleError,
    WeeklyTime,
    parse_time,
    parse_weekday,
    parse_zone,
)
from bot.services.answers import OwedAnswer
from bot.services.outbox import PostClaim, PostStatus
from bot.services.recaps import RecapFigures
from cogs._admin import admin_only
from cogs._channels import check_bot_can_post
from cogs._safe_text import plain
from cogs._shared import NO_PINGS, actor_from, answer_ticket, message_link, zone_autocomplete
from cogs.challenges.cards import (
    RECAP_IMAGE,
    DoneButton,
    challenge_embed,
    challenge_view,
    done_marker,
    done_reply,
    how_it_counts,
    recap_embed,
    recap_marker,
)

log = logging.getLogger(__name__)

WEEKDAY_CHOICES = [app_commands.Choice(name=day, value=day) for day in WEEKDAYS]
HABIT_CHOICES = [app_commands.Choice(name=h.display_name, value=h.value) for h in HABIT_ORDER]
DIFFICULTY_CHOICES = [
    app_commands.Choice(name=d.value.capitalize(), value=d.value) for d in Difficulty
]
# The challenge's and the recap's schedules take the same options.
SCHEDULE_OPTIONS = {
    "channel": "Where the posts go",
    "weekday": "The day of the week",
    "time": "Local time, HH:MM (24-hour), e.g. 09:00",
    "timezone": "Your time zone, e.g. America/Chicago (start typing a city)",
}
ON_OFF = [app_commands.Choice(name="on", value="on"), app_commands.Choice(name="off", value="off")]


def next_post_text(schedule: Schedule) -> str:
    at = schedule.next_run_at
    return f"{discord.utils.format_dt(at, 'F')} ({discord.utils.format_dt(at, 'R')})"


def schedule_reply(kind: PostKind, schedules: dict[PostKind, Schedule]) -> str:
    schedule = schedules.get(kind)
    if schedule is None:  # pragma: no cover - the answer is owed with the schedule
        return "Done."
    what = "weekly challenge" if kind is PostKind.CHALLENGE else "weekly recap"
    lines = [
        f"Done: the {what} goes to <#{schedule.channel_id}> on "
        f"{schedule.weekly.describe()}. Next one: {next_post_text(schedule)}."
    ]
    recap = schedules.get(PostKind.RECAP)
    if kind is PostKind.CHALLENGE and recap is not None and recap.follows_challenge:
        lines.append(
            f"The recap of the week comes the day before, same time: {next_post_text(recap)} "
            "(change it with `/recap schedule`)."
        )
    return "\n".join(lines)


def current_text(challenge: WeekChallenge | None, how: str | None, guild_id: int) -> str:
    if challenge is None:
        return (
            "No challenge has been posted here yet. An admin can set one up with "
            "`/challenge schedule`."
        )
    lines = [
        f"**This week's challenge · {challenge.habit.display_name}: {plain(challenge.title)}**",
        plain(challenge.text),
        "",
        f"Deadline: {discord.utils.format_dt(challenge.ends_at, 'F')} "
        f"({discord.utils.format_dt(challenge.ends_at, 'R')}).",
        how_it_counts(challenge),
    ]
    if how == "auto":
        lines.append("✅ **You did it**: I saw it in what you did this week.")
    elif how == "self":
        lines.append("✅ **You did it** (you told me so).")
    else:
        lines.append("Not done yet: `/challenge done` or the **I did it** button when you have.")
    lines.append(f"{challenge.completions} member(s) have done it so far.")
    if challenge.message_id is not None:
        link = message_link(guild_id, challenge.channel_id, challenge.message_id)
        lines.append(f"[Jump to the post]({link})")
    return "\n".join(lines)


def recap_chart(figures: RecapFigures) -> RecapChart:
    return RecapChart(
        title=f"Week of {figures.starts_at:%b %d}",
        community_size=figures.community_size,
        funnel=[FunnelStep(habit.display_name, count) for habit, count in figures.funnel],
        trend=[
            TrendWeek(
                label=f"{week.starts_at:%b %d}",
                active_members=week.active_members,
                shares=week.shares,
                conversations=week.conversations,
                asks_answered=week.asks_answered,
            )
            for week in figures.trend
        ],
    )


class Challenges(commands.Cog):
    challenge = app_commands.Group(
        name="challenge",
        description="This week's challenge, and (admins) the schedule and bank.",
        guild_only=True,
    )
    recap = app_commands.Group(
        name="recap",
        description="The weekly recap: its schedule, a preview, your shout-outs.",
        guild_only=True,
    )

    def __init__(self, bot: PLNCoachBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(DoneButton)
        renderers = self.bot.renderers
        renderers.posts[PostKind.CHALLENGE.value] = self._render_challenge
        renderers.posts[PostKind.RECAP.value] = self._render_recap
        renderers.answers["challenge_schedule"] = self._render_schedule_reply
        renderers.answers["recap_schedule"] = self._render_schedule_reply
        renderers.answers["challenge_done"] = self._render_done_reply

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(DoneButton)
        renderers = self.bot.renderers
        for kind in PostKind:
            renderers.posts.pop(kind.value, None)
        for name in ("challenge_schedule", "recap_schedule", "challenge_done"):
            renderers.answers.pop(name, None)

    # -- schedules ----------------------------------------------------------------------------

    async def _schedule(
        self,
        interaction: discord.Interaction[PLNCoachBot],
        kind: PostKind,
        channel: discord.TextChannel,
        weekday: str,
        time: str,
        timezone: str,
    ) -> None:
        guild = interaction.guild
        assert guild is not None
        try:
            weekly = WeeklyTime(parse_weekday(weekday), parse_time(time), parse_zone(timezone))
        except ScheduleError as error:
            raise UserFacingError(str(error)) from None
        check_bot_can_post(guild, channel, opens_thread=False)
        await interaction.response.defer(ephemeral=True, thinking=True)
        owed = await self.bot.services.schedules.set_schedule(
            actor_from(interaction), kind, channel.id, weekly, answer=answer_ticket(interaction)
        )
        self.bot.schedules_changed()
        await self.bot.answers.deliver(owed)

    @admin_only
    @challenge.command(
        name="schedule", description="When and where the weekly challenge is posted (admins)."
    )
    @app_commands.describe(**SCHEDULE_OPTIONS)
    @app_commands.choices(weekday=WEEKDAY_CHOICES)
    async def challenge_schedule(
        self,
        interaction: discord.Interaction[PLNCoachBot],
        channel: discord.TextChannel,
        weekday: str,
        time: str,
        timezone: str,
    ) -> None:
        await self._schedule(interaction, PostKind.CHALLENGE, channel, weekday, time, timezone)

    @admin_only
    @recap.command(
        name="schedule", description="When and where the weekly recap is posted (admins)."
    )
    @app_commands.describe(**SCHEDULE_OPTIONS)
    @app_commands.choices(weekday=WEEKDAY_CHOICES)
    async def recap_schedule(
        self,
        interaction: discord.Interaction[PLNCoachBot],
        channel: discord.TextChannel,
        weekday: str,
        time: str,
        timezone: str,
    ) -> None:
        await self._schedule(interaction, PostKind.RECAP, channel, weekday, time, timezone)

    @challenge_schedule.autocomplete("timezone")
    @recap_schedule.autocomplete("timezone")
    async def _zones(
        self, _interaction: discord.Interaction[PLNCoachBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return zone_autocomplete(current)

    async def _render_schedule_reply(self, answer: OwedAnswer, _post: PostStatus | None) -> str:
        kind = PostKind(answer.kind.removesuffix("_schedule"))
        return schedule_reply(kind, await self.bot.services.schedules.schedules(answer.server_id))

    @admin_only
    @challenge.command(
        name="selection", description="Rotate the habits, or aim at the weakest (admins)."
    )
    @app_commands.describe(
        mode="rotate: one habit after another; weakest: the habit fewest practise"
    )
    @app_commands.choices(
        mode=[
            app_commands.Choice(name="rotate the four habits", value=Selection.ROTATE.value),
            app_commands.Choice(name="target the weakest habit", value=Selection.WEAKEST.value),
        ]
    )
    async def challenge_selection(
        self, interaction: discord.Interaction[PLNCoachBot], mode: str
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.bot.services.schedules.set_selection(actor_from(interaction), Selection(mode))
        explained = (
            "one habit after another: Connect, Contribute, Converse, Request"
            if mode == Selection.ROTATE
            else "the habit the fewest members practised in the last four weeks"
        )
        await interaction.edit_original_response(
            content=f"Done: challenges now follow {explained}."
        )

    # -- the week's challenge -------------------------------------------------------------------

    @challenge.command(name="current", description="This week's challenge, and whether you did it.")
    async def challenge_current(self, interaction: discord.Interaction[PLNCoachBot]) -> None:
        actor = actor_from(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.bot.ingest.catch_up()
        completions = self.bot.services.completions
        challenge = await completions.current(actor.server_id)
        how = None
        if challenge is not None:
            how = await completions.how_done(challenge.id, actor.user_id)
        await interaction.edit_original_response(
            content=current_text(challenge, how, actor.server_id), allowed_mentions=NO_PINGS
        )

    @challenge.command(name="done", description="Tell me you did this week's challenge.")
    async def challenge_done(self, interaction: discord.Interaction[PLNCoachBot]) -> None:
        actor = actor_from(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.bot.ingest.catch_up()
        owed = await self.bot.services.completions.report_done(
            actor, None, answer=answer_ticket(interaction)
        )
        await self.bot.answers.deliver(owed)

    async def _render_done_reply(self, answer: OwedAnswer, _post: PostStatus | None) -> str:
        week = await self.bot.services.completions.week(answer.subject_id)
        return done_reply(Reported(answer.outcome), week.title if week else "this challenge")

    # -- the bank -------------------------------------------------------------------------------

    @admin_only
    @challenge.command(
        name="add", description="Add your own challenge to this server's bank (admins)."
    )
    @app_commands.describe(
        habit="The habit it practises",
        difficulty="How big a step it is",
        title="A short title (up to 80 characters)",
        text="What to do this week, and why (up to 400 characters)",
    )
    @app_commands.choices(habit=HABIT_CHOICES, difficulty=DIFFICULTY_CHOICES)
    async def challenge_add(
        self,
        interaction: discord.Interaction[PLNCoachBot],
        habit: str,
        difficulty: str,
        title: app_commands.Range[str, 1, 80],
        text: app_commands.Range[str, 1, 400],
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        pick = await self.bot.services.catalogue.add(
            actor_from(interaction), Habit(habit), Difficulty(difficulty), title, text
        )
        await interaction.edit_original_response(
            content=(
                f"Added “{plain(pick.title)}” ({pick.habit.display_name}, key `{pick.key}`). "
                "It joins the rotation; members report it with **I did it**."
            ),
            allowed_mentions=NO_PINGS,
        )

    @admin_only
    @challenge.command(name="list", description="The challenges this server picks from (admins).")
    @app_commands.describe(habit="Only this habit's challenges")
    @app_commands.choices(habit=HABIT_CHOICES)
    async def challenge_list(
        self, interaction: discord.Interaction[PLNCoachBot], habit: str | None = None
    ) -> None:
        actor = actor_from(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        entries = await self.bot.services.catalogue.entries(
            actor.server_id, Habit(habit) if habit else None
        )
        lines = [f"**{len(entries)} challenges** (remove one with `/challenge remove`):"]
        for entry in entries:
            auto = "auto-checked" if entry.pick.rule else "self-reported"
            own = " · yours" if entry.custom else ""
            lines.append(
                f"• `{entry.pick.key}` {entry.pick.habit.display_name}, {entry.pick.difficulty}, "
                f"{auto}{own}: {plain(entry.pick.title)}"
            )
        text = "\n".join(lines)
        if len(text) > 1900:
            text = text[:1900].rsplit("\n", 1)[0] + "\n… (pick a habit to see the rest)"
        await interaction.edit_original_response(content=text, allowed_mentions=NO_PINGS)

    @admin_only
    @challenge.command(
        name="remove", description="Take a challenge out of this server's rotation (admins)."
    )
    @app_commands.describe(challenge="The challenge's key, from /challenge list")
    async def challenge_remove(
        self,
        interaction: discord.Interaction[PLNCoachBot],
        challenge: app_commands.Range[str, 1, 80],
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        removed, title = await self.bot.services.catalogue.remove(
            actor_from(interaction), challenge
        )
        replies = {
            Removed.HIDDEN: f"Done: “{plain(title)}” won't be picked in this server any more.",
            Removed.DELETED: f"Done: your challenge “{plain(title)}” is deleted.",
            Removed.UNKNOWN: (
                f"I don't know a challenge `{plain(title, limit=80)}` here; "
                "`/challenge list` shows the keys."
            ),
        }
        await interaction.edit_original_response(
            content=replies[removed], allowed_mentions=NO_PINGS
        )

    @challenge_remove.autocomplete("challenge")
    async def _challenge_keys(
        self, interaction: discord.Interaction[PLNCoachBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        try:
            entries = await asyncio.wait_for(
                self.bot.services.catalogue.entries(interaction.guild_id), 2.0
            )
        except TimeoutError:
            return []
        wanted = current.casefold()
        found = [
            entry
            for entry in entries
            if wanted in entry.pick.key or wanted in entry.pick.title.casefold()
        ]
        return [
            app_commands.Choice(name=f"{entry.pick.title}"[:100], value=entry.pick.key)
            for entry in found[:25]
        ]

    @admin_only
    @challenge.command(
        name="preview", description="See the next challenge before it is posted (admins)."
    )
    async def challenge_preview(self, interaction: discord.Interaction[PLNCoachBot]) -> None:
        actor = actor_from(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        pick = await self.bot.services.catalogue.preview(actor.server_id)
        schedules = await self.bot.services.schedules.schedules(actor.server_id)
        if pick is None:
            await interaction.edit_original_response(
                content="Every challenge is removed here: add one with `/challenge add`."
            )
            return
        schedule = schedules.get(PostKind.CHALLENGE)
        when = (
            f"It would go out {next_post_text(schedule)} in <#{schedule.channel_id}>."
            if schedule
            else "No schedule yet: set one with `/challenge schedule`."
        )
        rule = f"Auto-checked: {pick.rule.describe()}." if pick.rule else "Self-reported."
        await interaction.edit_original_response(
            content=(
                f"**Next: {pick.habit.display_name} · {plain(pick.title)}** ({pick.difficulty})\n"
                f"{plain(pick.text)}\n{rule}\n{when}"
            ),
            allowed_mentions=NO_PINGS,
        )

    # -- recaps -------------------------------------------------------------------------------

    @admin_only
    @recap.command(name="preview", description="This week's recap so far, privately (admins).")
    async def recap_preview(self, interaction: discord.Interaction[PLNCoachBot]) -> None:
        actor = actor_from(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        now = self.bot.clock()
        figures = await self.bot.services.recaps.figures(
            actor.server_id, now - timedelta(days=7), now
        )
        chart = await asyncio.to_thread(draw_recap_chart, recap_chart(figures))
        embed = recap_embed(
            figures, actor.server_id, marker="Preview · not posted", late=False, with_chart=True
        )
        await interaction.edit_original_response(
            embed=embed,
            attachments=[discord.File(io.BytesIO(chart), filename=RECAP_IMAGE)],
            allowed_mentions=NO_PINGS,
        )

    @recap.command(name="shoutouts", description="Whether recaps may name you in shout-outs.")
    @app_commands.describe(setting="on: you may be named; off: never")
    @app_commands.choices(setting=ON_OFF)
    async def recap_shoutouts(
        self, interaction: discord.Interaction[PLNCoachBot], setting: str
    ) -> None:
        actor = actor_from(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.bot.services.nudges.choose(actor, shoutouts=setting == "on")
        reply = (
            "Done: weekly recaps may give you a shout-out when your help stood out."
            if setting == "on"
            else "Done: weekly recaps won't name you in shout-outs."
        )
        await interaction.edit_original_response(content=reply)

    # -- rendering posts from storage -------------------------------------------------------

    async def _render_challenge(self, claim: PostClaim) -> OutgoingPost | None:
        challenge = await self.bot.services.completions.to_post(claim.subject_id)
        if challenge is None:
            return None
        return OutgoingPost(
            marker=done_marker(challenge.id),
            embed=challenge_embed(challenge),
            view=challenge_view(challenge.id),
        )

    async def _render_recap(self, claim: PostClaim) -> OutgoingPost | None:
        recap = await self.bot.services.recaps.recap(claim.subject_id)
        if recap is None:
            return None
        figures = await self.bot.services.recaps.figures(
            recap.server_id, recap.starts_at, recap.ends_at
        )
        with_chart = self._may_attach(claim)
        files: tuple[tuple[str, bytes], ...] = ()
        if with_chart:
            files = (
                (RECAP_IMAGE, await asyncio.to_thread(draw_recap_chart, recap_chart(figures))),
            )
        return OutgoingPost(
            marker=recap_marker(recap.week),
            embed=recap_embed(
                figures,
                recap.server_id,
                marker=recap_marker(recap.week),
                late=recap.late,
                with_chart=with_chart,
            ),
            files=files,
        )

    def _may_attach(self, claim: PostClaim) -> bool:
        """Without Attach Files the recap goes out without its chart rather than not at all."""
        guild = self.bot.get_guild(claim.server_id)
        channel = guild.get_channel(claim.channel_id) if guild is not None else None
        if guild is None or channel is None:
            return True  # not on this process's shards: Discord decides
        return channel.permissions_for(guild.me).attach_files
