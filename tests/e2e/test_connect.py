"""Connect end to end: the intro form and card, welcomes, and suggestions of who to reach out to."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from bot.app import PLNCoachBot
from bot.config import Settings
from bot.db import Member, MemberInterest, Tie, utcnow
from bot.startup_errors import StartupFailure, reaching_discord
from emulator.interactions import Interaction
from tests.e2e.conftest import BotProcess, Community
from tests.e2e.helpers import (
    EPHEMERAL,
    answer_of,
    answer_when,
    bot_posts,
    count_rows,
    eventually,
    run_command,
    text_of,
)

MODAL = 9

ANA_INTRO = {
    "Your role": "7th-grade science teacher",
    "Subjects": "Science, Biology",
    "Grade bands": "7th grade",
    "What I want to learn": "project-based learning",
    "What I can help with": "lab safety",
}


async def open_form(
    community: Community, user_id: int, channel_id: int | None = None
) -> Interaction:
    ix = await community.emulator.run_slash_command(
        community.guild.id, channel_id or community.general.id, user_id, "connect intro", {}
    )
    response = await ix.wait_response(timeout=5)
    assert response.type == MODAL
    return ix


async def introduce(
    community: Community, user_id: int, answers: dict[str, str], channel_id: int | None = None
) -> str:
    form = await open_form(community, user_id, channel_id)
    submitted = await community.emulator.submit_modal(form, answers)
    reply = await answer_of(submitted)
    assert reply.flags & EPHEMERAL
    return await answer_when(submitted, lambda text: "on its way" not in text)


def form_defaults(ix: Interaction) -> dict[str, str]:
    assert ix.modal is not None
    found: dict[str, str] = {}
    for row in ix.modal["components"]:
        for component in [row.get("component")] if row["type"] == 18 else row["components"]:
            if component and component.get("value") is not None:
                label = row.get("label") or component.get("label")
                found[label] = component["value"]
    return found


async def test_intro_form_stores_interests_and_posts_a_card(
    coach: PLNCoachBot, community: Community
) -> None:
    answer = await introduce(community, community.ana.id, ANA_INTRO)
    assert "Thanks for introducing yourself" in answer
    assert "/connect suggest" in answer

    [card] = bot_posts(community, community.general.id)
    body = text_of(card)
    assert "Meet Ana" in body
    assert "7th-grade science teacher" in body
    assert f"<@{community.ana.id}>" in body
    assert "lab safety" in body
    assert "Introduce yourself" in str(card.components)

    async with coach.services.database.read() as session:
        rows = await session.execute(select(MemberInterest.kind, MemberInterest.tag))
        tags = {(row.kind, row.tag) for row in rows}
    assert tags == {
        ("subject", "science"),
        ("subject", "biology"),
        ("grade", "grade 7"),
        ("learn", "project-based learning"),
        ("help", "lab safety"),
    }


async def test_running_intro_again_fills_the_form_and_edits_the_same_card(
    coach: PLNCoachBot, community: Community
) -> None:
    await introduce(community, community.ana.id, ANA_INTRO)
    [card] = bot_posts(community, community.general.id)

    form = await open_form(community, community.ana.id)
    assert form_defaults(form)["Your role"] == "7th-grade science teacher"
    submitted = await community.emulator.submit_modal(
        form, {**ANA_INTRO, "Your role": "Head of science"}
    )
    await answer_of(submitted)
    answer = await answer_when(submitted, lambda text: "on its way" not in text)
    assert "Intro updated" in answer
    assert "is updated" in answer

    [edited] = bot_posts(community, community.general.id)  # still one card
    assert edited.id == card.id
    assert "Head of science" in text_of(edited)


async def test_intro_cards_go_to_the_intros_channel_once_an_admin_sets_one(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    intros = emu.create_text_channel(community.guild.id, "introductions")
    refused = await run_command(
        community, community.ana.id, "pln intros-channel", {"channel": intros.id}
    )
    assert "Manage Server" in refused.content

    done = await run_command(
        community, community.admin.id, "pln intros-channel", {"channel": intros.id}
    )
    assert f"<#{intros.id}>" in done.content
    await introduce(community, community.ana.id, ANA_INTRO)
    assert bot_posts(community, community.general.id) == []
    [card] = bot_posts(community, intros.id)
    assert "Meet Ana" in text_of(card)


async def test_hostile_intro_text_is_shown_as_typed_and_pings_nobody(
    coach: PLNCoachBot, community: Community
) -> None:
    await introduce(
        community,
        community.ana.id,
        {
            **ANA_INTRO,
            "Your role": "@everyone [click](https://evil.example) <@&1>",
            "Subjects": "# huge, **bold**",
        },
    )
    [card] = bot_posts(community, community.general.id)
    assert not card.pings.any
    assert "\\@everyone" in text_of(card) or "@\u200beveryone" in text_of(card)
    assert "\\[click](https://evil.example)" in text_of(card)  # escaped: shown, not a link
    assert "\\# huge" in text_of(card)


async def _seed_colleague(
    coach: PLNCoachBot, community: Community, user_id: int, answers: dict[str, str]
) -> None:
    await introduce(community, user_id, answers)


async def test_suggest_names_colleagues_with_shared_interests_and_says_why(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    cleo = emu.create_user("cleo", global_name="Cleo")
    emu.add_member(community.guild.id, cleo.id)
    await introduce(community, community.ana.id, ANA_INTRO)
    await introduce(
        community,
        community.ben.id,
        {
            **ANA_INTRO,
            "Your role": "Biology teacher",
            "What I can help with": "project-based learning",
        },
    )
    await introduce(
        community,
        cleo.id,
        {"Your role": "Art teacher", "Subjects": "art", "Grade bands": "grade 2"},
    )

    reply = await run_command(community, community.ana.id, "connect suggest")
    assert reply.flags & EPHEMERAL
    lines = reply.content.splitlines()
    ben_line = next(line for line in lines if f"<@{community.ben.id}>" in line)
    assert lines.index(ben_line) == 1  # the best match comes first
    assert "also works with grade 7" in ben_line
    assert "can help with project-based learning" in ben_line
    assert "you have not talked yet" in ben_line
    assert f"<@{community.ana.id}>" not in reply.content  # never yourself
    assert f"<@{community.app.bot_user.id}>" not in reply.content  # never a bot


async def test_suggest_skips_members_who_left_and_members_quiet_for_90_days(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    cleo = emu.create_user("cleo", global_name="Cleo")
    emu.add_member(community.guild.id, cleo.id)
    for user_id in (community.ana.id, community.ben.id, cleo.id):
        await introduce(community, user_id, ANA_INTRO)

    emu.remove_member(community.guild.id, cleo.id)  # the bot has no members intent: not told
    async with coach.services.database.write() as session:
        await session.execute(
            update(Member)
            .where(Member.user_id == community.ben.id)
            .values(last_seen_at=utcnow() - timedelta(days=91))
        )
    reply = await run_command(community, community.ana.id, "connect suggest")
    assert f"<@{cleo.id}>" not in reply.content
    assert f"<@{community.ben.id}>" not in reply.content
    assert "don't know enough colleagues" in reply.content
    # The bot remembered that Cleo left, so it need not look her up again.
    async with coach.services.database.read() as session:
        left = await session.scalar(select(Member.left_at).where(Member.user_id == cleo.id))
    assert left is not None


async def test_members_found_in_the_server_are_not_looked_up_again_for_ten_minutes(
    coach: PLNCoachBot, community: Community
) -> None:
    """Without the members intent each suggested member is looked up (it is the only way to
    learn they left), and each look-up counts toward Discord's 50 requests a second: a member
    found lately is trusted for ten minutes."""
    emu = community.emulator
    for user_id in (community.ana.id, community.ben.id, community.admin.id):
        await introduce(community, user_id, ANA_INTRO)

    def lookups() -> int:
        return sum(r.route.startswith("/guilds/{guild_id}/members/") for r in emu.requests)

    first = await run_command(community, community.ana.id, "connect suggest")
    looked_up = lookups()
    assert looked_up >= 2  # Ben and the admin, whom the bot had not seen in the server
    again = await run_command(community, community.ana.id, "connect suggest")
    assert lookups() == looked_up
    assert again.content == first.content


async def test_suggest_prefers_someone_new_over_a_colleague_you_already_talk_with(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    cleo = emu.create_user("cleo", global_name="Cleo")
    emu.add_member(community.guild.id, cleo.id)
    for user_id in (community.ana.id, community.ben.id, cleo.id):
        await introduce(community, user_id, ANA_INTRO)
    question = await emu.send_message(community.general.id, community.ben.id, "Lab ideas?")
    await emu.send_message(community.general.id, community.ana.id, "Yes!", reply_to=question.id)
    await eventually(lambda: count_rows(coach, Tie), what="the reply to make a tie")

    reply = await run_command(community, community.ana.id, "connect suggest")
    lines = reply.content.splitlines()
    assert f"<@{cleo.id}>" in lines[1]
    ben_line = next(line for line in lines if f"<@{community.ben.id}>" in line)
    assert "you have talked before" in ben_line


@pytest.fixture
def welcoming_settings(bot_settings: Settings) -> Settings:
    discord = bot_settings.discord.model_copy(update={"members_intent": True})
    return bot_settings.model_copy(update={"discord": discord})


async def test_with_the_members_intent_newcomers_get_a_welcome_that_opens_the_form(
    community: Community, welcoming_settings: Settings
) -> None:
    emu = community.emulator
    process = BotProcess(welcoming_settings)
    try:
        coach = await process.start()
        assert coach.intents.members
        intros = emu.create_text_channel(community.guild.id, "introductions")
        await run_command(
            community, community.admin.id, "pln intros-channel", {"channel": intros.id}
        )
        dora = emu.create_user("dora", global_name="Dora")
        emu.add_member(community.guild.id, dora.id)
        await eventually(lambda: bot_posts(community, intros.id), what="a welcome")
        [welcome] = bot_posts(community, intros.id)
        assert f"<@{dora.id}>" in text_of(welcome)
        assert not welcome.pings.any

        button = welcome.components[0]["components"][0]
        assert button["label"] == "Introduce yourself"
        pressed = await emu.press_button(welcome.id, button["custom_id"], dora.id)
        assert (await pressed.wait_response(timeout=5)).type == MODAL
        submitted = await emu.submit_modal(pressed, ANA_INTRO)
        await answer_of(submitted)
        await eventually(lambda: len(bot_posts(community, intros.id)) == 2, what="Dora's card")
        assert "Meet Dora" in text_of(bot_posts(community, intros.id)[1])

        emu.remove_member(community.guild.id, dora.id)  # told at once, with the intent

        async def gone() -> bool:
            async with coach.services.database.read() as session:
                left = await session.scalar(select(Member.left_at).where(Member.user_id == dora.id))
            return left is not None

        await eventually(gone, what="Dora's leaving to be recorded")
    finally:
        await process.stop()


async def test_without_the_members_intent_nobody_is_welcomed_and_the_rest_works(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    assert not coach.intents.members
    intros = emu.create_text_channel(community.guild.id, "introductions")
    await run_command(community, community.admin.id, "pln intros-channel", {"channel": intros.id})
    dora = emu.create_user("dora", global_name="Dora")
    emu.add_member(community.guild.id, dora.id)
    answer = await introduce(community, dora.id, ANA_INTRO)
    assert "Thanks for introducing yourself" in answer
    [card] = bot_posts(community, intros.id)  # her card, and no welcome
    assert "Meet Dora" in text_of(card)


async def test_members_intent_not_granted_by_discord_is_one_clear_line(
    community: Community, welcoming_settings: Settings
) -> None:
    emu = community.emulator
    stingy = emu.create_application(name="Stingy Coach", privileged_intents=0)
    settings = welcoming_settings.model_copy(
        update={
            "discord": welcoming_settings.discord.model_copy(
                update={"token": SecretStr(stingy.token)}
            )
        }
    )

    async def start() -> None:
        with reaching_discord(emu.api_base_url, settings.database.url, stingy.token):
            bot = PLNCoachBot(settings, guild_ready_timeout=0.05)
            async with bot:
                await asyncio.wait_for(bot.start(stingy.token), 10)

    with pytest.raises(StartupFailure, match="Privileged Gateway Intents"):
        await start()


async def test_a_card_a_moderator_deleted_is_posted_again_when_the_intro_changes(
    coach: PLNCoachBot, community: Community
) -> None:
    await introduce(community, community.ana.id, ANA_INTRO)
    [card] = bot_posts(community, community.general.id)
    await community.emulator.delete_message(card.id, community.admin.id)

    answer = await introduce(community, community.ana.id, {**ANA_INTRO, "Your role": "Coach"})
    assert "Intro updated" in answer
    [again] = [m for m in bot_posts(community, community.general.id) if not m.deleted]
    assert again.id != card.id
    assert "Coach" in text_of(again)


async def test_forms_opened_at_once_by_two_members_and_across_a_restart_are_each_saved(
    bot_process: BotProcess, community: Community
) -> None:
    await bot_process.start()
    ana_form = await open_form(community, community.ana.id)
    ben_form = await open_form(community, community.ben.id)  # Ben opens his before Ana sends
    await bot_process.restart()  # ...and the bot restarts while both are open
    for form, role in ((ana_form, "Ana's role"), (ben_form, "Ben's role")):
        sent = await community.emulator.submit_modal(form, {**ANA_INTRO, "Your role": role})
        await answer_of(sent, timeout=10)
    await eventually(lambda: len(bot_posts(community, community.general.id)) == 2)
    cards = [text_of(card) for card in bot_posts(community, community.general.id)]
    assert any("Meet Ana" in card and "Ana's role" in card for card in cards)
    assert any("Meet Ben" in card and "Ben's role" in card for card in cards)
