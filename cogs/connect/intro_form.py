"""The intro form (a modal of five questions) and what happens when a member sends it.

The form is the command's first answer, so it opens at once; the member's earlier answers are
filled in when the database gives them within a second, else the form opens empty. Saving works
like `/share`: defer, store the intro with its card and the member's answer, post the card.

Submissions are read from the interaction itself by fixed input ids (``handle_submission``), not
by the ``Modal`` object discord.py keeps in memory: that object is gone after a restart, and
discord.py keeps one per custom id, so two members with the form open at once would share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import discord

from bot.command_tree import report_error
from bot.delivery.answers import RenderedAnswer
from bot.delivery.renderers import OutgoingPost
from bot.errors import DatabaseUnavailable, NotFound
from bot.services.interests import IntroAnswers
from bot.services.introductions import IntroResult, MemberIntro
from bot.services.outbox import PostState, PostStatus
from cogs._acknowledge import acknowledged_while
from cogs._shared import actor_from, answer_ticket, coach_bot, message_link
from cogs.connect.cards import intro_card, intro_marker, introduce_view

log = logging.getLogger(__name__)

# How long the form waits for the member's earlier answers before opening empty.
PREFILL_WAIT = 1.0
# How long saving waits for the card before answering "on its way" (edited again once up).
CARD_WAIT = 2.5
FORM_ID = "pln:intro-form"
_FIELDS = ("role", "subjects", "grade_bands", "learning", "helping")


def _input_id(field: str) -> str:
    return f"pln:intro-form:{field}"


def submitted_values(data: Any) -> dict[str, str]:
    """The text inputs of a modal submission, by custom id (rows of inputs, or labels)."""
    values: dict[str, str] = {}
    for top in data.get("components") or []:
        children = top.get("components") or ([top["component"]] if "component" in top else [])
        for child in children:
            if isinstance(child, dict) and "custom_id" in child:
                values[child["custom_id"]] = str(child.get("value") or "")
    return values


def intro_post(intro: MemberIntro) -> OutgoingPost:
    return OutgoingPost(
        marker=intro_marker(intro.user_id),
        embed=intro_card(intro),
        view=introduce_view("intro", intro.user_id),
    )


def intro_reply(result: IntroResult, card: PostStatus | None, guild_id: int) -> str:
    saved = "Thanks for introducing yourself!" if result is IntroResult.NEW else "Intro updated."
    nxt = (
        "Next: `/connect suggest` names colleagues who share your subjects and whom you "
        "haven't met yet."
    )
    if card is None or card.state is PostState.PENDING:
        where = f" in <#{card.channel_id}>" if card is not None else ""
        return f"{saved} Your card is on its way{where}.\n{nxt}"
    if card.state is PostState.POSTED and card.message_id is not None:
        link = message_link(guild_id, card.channel_id, card.message_id)
        verb = "is up" if result is IntroResult.NEW else "is updated"
        return f"{saved} Your card {verb} in <#{card.channel_id}>: [see it]({link}).\n{nxt}"
    problem = card.problem or "Discord refused it"
    return (
        f"{saved} Your answers are saved, but I couldn't post your card in "
        f"<#{card.channel_id}>: {problem}. An admin can fix that, or choose another channel "
        "with `/pln intros-channel`; then run `/connect intro` again."
    )


class IntroForm(discord.ui.Modal, title="Introduce yourself"):
    role: discord.ui.TextInput[IntroForm] = discord.ui.TextInput(
        custom_id=_input_id("role"),
        label="Your role",
        placeholder="e.g. 7th-grade science teacher, librarian, instructional coach",
        max_length=100,
    )
    subjects: discord.ui.TextInput[IntroForm] = discord.ui.TextInput(
        custom_id=_input_id("subjects"),
        label="Subjects",
        placeholder="e.g. science, biology, ELL",
        max_length=300,
    )
    grade_bands: discord.ui.TextInput[IntroForm] = discord.ui.TextInput(
        custom_id=_input_id("grade_bands"),
        label="Grade bands",
        placeholder="e.g. grade 6, grades 9-12, university",
        max_length=300,
        required=False,
    )
    learning: discord.ui.TextInput[IntroForm] = discord.ui.TextInput(
        custom_id=_input_id("learning"),
        label="What I want to learn",
        placeholder="e.g. project-based learning, assessment",
        style=discord.TextStyle.paragraph,
        max_length=300,
        required=False,
    )
    helping: discord.ui.TextInput[IntroForm] = discord.ui.TextInput(
        custom_id=_input_id("helping"),
        label="What I can help with",
        placeholder="e.g. lab safety, Google Classroom, classroom routines",
        style=discord.TextStyle.paragraph,
        max_length=300,
        required=False,
    )

    def __init__(self, earlier: IntroAnswers | None = None) -> None:
        super().__init__(custom_id=FORM_ID, timeout=15 * 60)
        if earlier is not None:
            self.role.default = earlier.role
            self.subjects.default = earlier.subjects
            self.grade_bands.default = earlier.grade_bands
            self.learning.default = earlier.learning
            self.helping.default = earlier.helping

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        return False  # handle_submission answers every submission, this object none


def is_intro_submission(interaction: discord.Interaction[Any]) -> bool:
    data: dict[str, Any] = dict(interaction.data or {})
    return (
        interaction.type is discord.InteractionType.modal_submit
        and data.get("custom_id") == FORM_ID
    )


async def handle_submission(interaction: discord.Interaction[Any]) -> None:
    values = submitted_values(interaction.data or {})
    answers = IntroAnswers.from_form(*(values.get(_input_id(field), "") for field in _FIELDS))
    try:
        await save_intro(interaction, answers)
    except Exception as error:  # not a command: no tree-level handler answers for us
        await report_error(interaction, error, action="Intro form")


async def open_intro_form(interaction: discord.Interaction[Any]) -> None:
    if interaction.guild_id is None:
        await interaction.response.send_message(
            "Introductions happen inside a server: use `/connect intro` there.", ephemeral=True
        )
        return
    bot = coach_bot(interaction)
    if (interaction.guild_id, interaction.user.id) in bot.services.privacy.paused:
        # Said before the form, not after the member typed five answers for nothing.
        await interaction.response.send_message(
            "Tracking is paused for you in this server, so I wouldn't store an intro. "
            "Use `/privacy resume` first.",
            ephemeral=True,
        )
        return
    earlier = None
    introductions = bot.services.introductions
    with contextlib.suppress(NotFound, DatabaseUnavailable, TimeoutError):
        found = await asyncio.wait_for(
            introductions.intro(interaction.guild_id, interaction.user.id), PREFILL_WAIT
        )
        earlier = found.answers
    await interaction.response.send_modal(IntroForm(earlier))


async def save_intro(interaction: discord.Interaction[Any], answers: IntroAnswers) -> None:
    actor = actor_from(interaction)
    bot = coach_bot(interaction)
    storing = bot.services.introductions.introduce(
        actor,
        answers,
        channel_id=interaction.channel_id or 0,
        answer=answer_ticket(interaction),
        deliverer=bot.posts.worker_id,
    )
    outcome = await acknowledged_while(interaction, storing)
    async with bot.answers.handling(outcome.answer):
        if outcome.card_claim is not None:
            bot.posts.submit(outcome.card_claim, intro_post(outcome.intro))
        card = await bot.posts.wait(outcome.card_post_id, CARD_WAIT)
        if card is None:
            card = PostStatus(outcome.card_post_id, PostState.PENDING, 0, None, None, None)
            with contextlib.suppress(DatabaseUnavailable):
                card = await bot.services.outbox.status(outcome.card_post_id) or card
        text = intro_reply(outcome.result, card, actor.server_id)
        await bot.answers.deliver(outcome.answer, RenderedAnswer(text, card))
