"""How the weekly challenge and the weekly recap look in the channel."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import discord

from bot.challenges.completions import Reported, WeekChallenge
from bot.command_tree import report_error
from bot.delivery.answers import RenderedAnswer
from bot.services.recaps import RecapFigures
from cogs._safe_text import plain
from cogs._shared import COACH_COLOUR, actor_from, answer_ticket, coach_bot, message_link

DONE_ID = "pln:challenge:done:{id}"
DONE_LABEL = "I did it"
RECAP_IMAGE = "recap.png"
DIFFICULTY = {"easy": "Easy", "medium": "Medium", "stretch": "Stretch"}


def done_marker(week_id: int) -> str:
    """Only this week's post carries it (as its button's id): how the post is found again."""
    return DONE_ID.format(id=week_id)


def recap_marker(week: int) -> str:
    """The recap's footer, different every week: how the post is found again."""
    return f"PLN Coach weekly recap · week {week % 100} of {week // 100}"


def how_it_counts(challenge: WeekChallenge) -> str:
    if challenge.rule is None:
        return "Press **I did it** once you have: it counts for this week."
    return (
        f"{challenge.rule.describe()}. I'll notice it on my own; you can also press **I did it**."
    )


def challenge_embed(challenge: WeekChallenge) -> discord.Embed:
    habit = challenge.habit.display_name
    embed = discord.Embed(
        title=plain(f"Weekly challenge · {habit}: {challenge.title}", limit=256),
        description=plain(challenge.text, limit=1000),
        colour=COACH_COLOUR,
    )
    embed.add_field(name="Habit", value=habit)
    embed.add_field(name="Difficulty", value=DIFFICULTY.get(challenge.difficulty, "—"))
    deadline = discord.utils.format_dt(challenge.ends_at, "F")
    embed.add_field(
        name="Deadline",
        value=f"{deadline} ({discord.utils.format_dt(challenge.ends_at, 'R')})",
        inline=False,
    )
    embed.add_field(name="How it counts", value=how_it_counts(challenge), inline=False)
    if challenge.late:
        embed.add_field(
            name="Posted late",
            value="I was offline when this was due, so it comes a little late this week.",
            inline=False,
        )
    embed.set_footer(text="PLN Coach · /challenge current shows where you stand")
    return embed


def done_reply(outcome: Reported, title: str) -> str:
    shown = plain(title)
    return {
        Reported.VERIFIED: f"Done and verified: “{shown}” counts for you this week. 🎉",
        Reported.COUNTED: f"Counted: “{shown}” is done for you this week. Well done!",
        Reported.ALREADY: f"You're already counted for “{shown}”. See you next week!",
        Reported.ENDED: f"“{shown}” has ended; the next challenge is on its way.",
        Reported.NO_CHALLENGE: "There's no challenge running here yet.",
    }[outcome]


class DoneButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"pln:challenge:done:(?P<id>[0-9]+)",
):
    """The post's "I did it" button; its id carries the week, so it works after restarts."""

    def __init__(self, week_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=DONE_LABEL,
                emoji="✅",
                style=discord.ButtonStyle.success,
                custom_id=done_marker(week_id),
            )
        )
        self.week_id = week_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> DoneButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = coach_bot(interaction)
        try:
            await bot.ingest.catch_up()  # what they just did counts
            owed = await bot.services.completions.report_done(
                actor_from(interaction), self.week_id, answer=answer_ticket(interaction)
            )
            week = await bot.services.completions.week(self.week_id)
        except Exception as error:  # buttons have no tree-level handler: answer here
            await report_error(interaction, error, action="I did it button")
            return
        title = week.title if week is not None else "this challenge"
        await bot.answers.deliver(owed, RenderedAnswer(done_reply(Reported(owed.outcome), title)))


def challenge_view(week_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(DoneButton(week_id))
    return view


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    hours = minutes / 60
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def recap_embed(
    figures: RecapFigures, guild_id: int, *, marker: str, late: bool, with_chart: bool
) -> discord.Embed:
    week = f"{figures.starts_at:%b %d} – {figures.ends_at - timedelta(seconds=1):%b %d}"
    embed = discord.Embed(
        title=f"Weekly recap · {week}",
        description="What this community did together this week.",
        colour=COACH_COLOUR,
    )
    embed.add_field(name="New connections", value=str(figures.new_ties))
    embed.add_field(name="Shares", value=str(figures.shares))
    embed.add_field(name="Conversations", value=str(figures.conversations))
    embed.add_field(name="Asks answered", value=str(figures.asks_answered))
    embed.add_field(
        name="Time to a first answer",
        value=(
            f"{_duration(figures.median_first_answer)} (median)"
            if figures.median_first_answer is not None
            else "—"
        ),
    )
    if figures.challenge is not None:
        embed.add_field(
            name="Challenge",
            value=plain(
                f"{figures.challenge.completions} did “{figures.challenge.title}”", limit=1000
            ),
        )
    funnel = " → ".join(f"{habit.display_name} {count}" for habit, count in figures.funnel)
    embed.add_field(
        name=(
            f"The four habits (of {figures.community_size} active "
            f"member{'' if figures.community_size == 1 else 's'})"
        ),
        value=funnel,
        inline=False,
    )
    if figures.shout_outs:
        lines = []
        for shout in figures.shout_outs:
            did = []
            if shout.helpful_answers:
                did.append(f"{shout.helpful_answers} helpful answer(s)")
            if shout.answers:
                did.append(f"{shout.answers} answer(s)")
            if shout.shares:
                did.append(f"{shout.shares} share(s)")
            lines.append(f"<@{shout.member_id}>: {', '.join(did)}")
        embed.add_field(
            name="Shout-outs (opt out with /recap shoutouts off)",
            value="\n".join(lines)[:1024],
            inline=False,
        )
    if figures.open_asks_total:
        lines = []
        for ask in figures.open_asks:
            question = plain(ask.question, limit=80)
            if ask.thread_id is not None:
                link = message_link(guild_id, ask.thread_id, ask.thread_id)
                lines.append(f"• [{question}]({link})")
            else:
                lines.append(f"• {question}")
        more = figures.open_asks_total - len(figures.open_asks)
        if more > 0:
            lines.append(f"…and {more} more: `/asks open`")
        embed.add_field(
            name=f"Still waiting for an answer ({figures.open_asks_total})",
            value="\n".join(lines)[:1024],
            inline=False,
        )
    if late:
        embed.add_field(name="Posted late", value="I was offline when this was due.", inline=False)
    if with_chart:
        embed.set_image(url=f"attachment://{RECAP_IMAGE}")
    embed.set_footer(text=marker)
    return embed
