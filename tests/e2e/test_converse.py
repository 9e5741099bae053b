"""/converse and the coach's next step in /progress, end to end: real people, real messages."""

from __future__ import annotations

from bot.app import PLNCoachBot
from bot.db import ActivityEvent, ConversationWeek
from tests.e2e.conftest import Community
from tests.e2e.helpers import EPHEMERAL, count_rows, eventually, run_command, text_of
from tests.e2e.test_connect import ANA_INTRO, introduce


async def test_converse_lists_a_reply_waiting_for_you_with_a_jump_link(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    question = await emu.send_message(community.general.id, community.ana.id, "Rubric ideas?")
    answer = await emu.send_message(
        community.general.id, community.ben.id, "Single-point rubrics!", reply_to=question.id
    )
    await eventually(lambda: count_rows(coach, ActivityEvent), what="the reply to be stored")

    reply = await run_command(community, community.ana.id, "converse")
    assert reply.flags & EPHEMERAL
    assert f"<@{community.ben.id}> replied to you <t:" in reply.content
    assert "keep it going" in reply.content
    link = f"/channels/{community.guild.id}/{community.general.id}/{answer.id})"
    assert link in reply.content
    assert "A conversation starter:" in reply.content
    assert not reply.pings.any

    # Ana answers: the ball is in Ben's court now, so nothing waits on her.
    await emu.send_message(community.general.id, community.ana.id, "Thanks!", reply_to=answer.id)
    await eventually(lambda: count_rows(coach, ConversationWeek), what="the conversation")
    reply = await run_command(community, community.ana.id, "converse")
    assert "replied to you" not in reply.content
    assert "No conversation is waiting on you" in reply.content


async def test_progress_shows_a_card_image_and_a_next_step_naming_a_colleague(
    coach: PLNCoachBot, community: Community
) -> None:
    await introduce(community, community.ana.id, ANA_INTRO)
    await introduce(community, community.ben.id, {**ANA_INTRO, "Your role": "Biology teacher"})

    reply = await run_command(community, community.ana.id, "progress")
    [image] = reply.attachments
    assert image["filename"] == "progress-card.png"
    assert image.get("content_type", "image/png") == "image/png"
    body = text_of(reply)
    for number, habit in enumerate(("Connect", "Contribute", "Converse", "Request"), start=1):
        assert f"{number}. {habit} — ○ Not started" in body
    # Connect is the weakest habit, and Ben shares Ana's subjects: the step names him.
    assert f"Say hi to <@{community.ben.id}>: also works with grade 7" in body
    assert not reply.pings.any


async def test_when_converse_is_weakest_the_next_step_is_the_reply_waiting_for_you(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    colleagues = []
    for name in ("cleo", "dev", "eli", "fay", "gus", "dan"):
        user = emu.create_user(name, global_name=name.capitalize())
        emu.add_member(community.guild.id, user.id)
        colleagues.append(user.id)
    *five, dan = colleagues
    # Ana reaches five colleagues (Connect: Practicing) and shares once (Contribute: Started)...
    for other in five:
        post = await emu.send_message(community.general.id, other, "Our lab this week")
        await emu.send_message(community.general.id, community.ana.id, "Nice!", reply_to=post.id)
    await run_command(community, community.ana.id, "share", {"url": "https://example.org/a"})
    # ...but has no conversation yet: Dan replied to her, and she has not answered.
    mine = await emu.send_message(community.general.id, community.ana.id, "Field trip ideas?")
    waiting = await emu.send_message(
        community.general.id, dan, "The science museum!", reply_to=mine.id
    )

    async def stored() -> bool:
        return await count_rows(coach, ActivityEvent, ActivityEvent.member_id == dan) == 1

    await eventually(stored, what="Dan's reply")
    reply = await run_command(community, community.ana.id, "progress")
    body = text_of(reply)
    assert "1. Connect — ◑ Practicing" in body
    assert "3. Converse — ○ Not started" in body
    assert f"<@{dan}> replied to you <t:" in body
    assert f"/{waiting.id})" in body  # a jump link to Dan's reply
