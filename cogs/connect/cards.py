"""How intro cards and welcomes look, and the "Introduce yourself" button they carry.

Everything a member typed is escaped and sits in an embed, where mentions never ping. Each post
carries its own marker (the button's custom id) so the outbox can find it again after a crash.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.services.introductions import MemberIntro
from cogs._safe_text import plain
from cogs._shared import COACH_COLOUR

INTRODUCE_ID = "pln:introduce:{kind}:{id}"
FIELD_LIMIT = 1024


def intro_marker(user_id: int) -> str:
    return INTRODUCE_ID.format(kind="intro", id=user_id)


def welcome_marker(user_id: int) -> str:
    return INTRODUCE_ID.format(kind="welcome", id=user_id)


def intro_card(intro: MemberIntro) -> discord.Embed:
    answers = intro.answers
    embed = discord.Embed(
        title=plain(f"Meet {intro.display_name}", limit=256),
        description=f"<@{intro.user_id}> · {plain(answers.role, limit=300)}",
        colour=COACH_COLOUR,
    )
    for name, value in (
        ("Subjects", answers.subjects),
        ("Grade bands", answers.grade_bands),
        ("Wants to learn", answers.learning),
        ("Can help with", answers.helping),
    ):
        if value:
            embed.add_field(name=name, value=plain(value, limit=FIELD_LIMIT), inline=False)
    embed.set_footer(text="Say hi with a reply. New here too? Press Introduce yourself.")
    return embed


def welcome_card(user_id: int, server_name: str) -> discord.Embed:
    return discord.Embed(
        title=plain(f"Welcome to {server_name}!", limit=256),
        description=(
            f"<@{user_id}>, glad you're here. Tell colleagues what you teach and what you'd "
            "like to learn: press **Introduce yourself**, and the people who share your "
            "subjects can find you."
        ),
        colour=COACH_COLOUR,
    )


class IntroduceButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"pln:introduce:(?P<kind>intro|welcome):(?P<id>[0-9]+)",
):
    """Opens the intro form for whoever presses it; works after restarts (no state)."""

    def __init__(self, kind: str, user_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Introduce yourself",
                emoji="👋",
                style=discord.ButtonStyle.primary,
                custom_id=INTRODUCE_ID.format(kind=kind, id=user_id),
            )
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> IntroduceButton:
        return cls(match["kind"], int(match["id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        from cogs.connect.intro_form import open_intro_form  # the form imports the cards

        await open_intro_form(interaction)


def introduce_view(kind: str, user_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(IntroduceButton(kind, user_id))
    return view
