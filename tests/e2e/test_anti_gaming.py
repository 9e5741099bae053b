"""Gaming the habits does not pay: loops, self-interaction, duplicates and answer spam are
counted once, or not at all, as a member's /progress shows."""

from __future__ import annotations

from bot.app import PLNCoachBot
from tests.e2e.conftest import Community
from tests.e2e.helpers import bot_posts, eventually, press_button, run_command, text_of
from tests.e2e.test_ask import ask, thread_post
from tests.e2e.test_tracking import _settle as settle


async def progress_of(community: Community, user_id: int) -> str:
    return text_of(await run_command(community, user_id, "progress"))


async def test_reaction_loops_and_self_interaction_reach_one_colleague_at_most(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    general, ana, ben = community.general.id, community.ana.id, community.ben.id
    post = await emu.send_message(general, ana, "Exit tickets, anyone?")
    for _ in range(10):  # add, remove, add, remove...
        await emu.add_reaction(general, post.id, ben, "👍")
        await emu.remove_reaction(general, post.id, ben, "👍")
    for emoji in ("👍", "🎉", "🔥", "💯"):
        await emu.add_reaction(general, post.id, ben, emoji)
    # Ana talking to herself: replies and reactions on her own messages.
    for n in range(5):
        await emu.send_message(general, ana, f"Me again {n}", reply_to=post.id)
    await emu.add_reaction(general, post.id, ana, "👍")
    await settle(coach)

    assert "1. Connect — ◔ Started" in await progress_of(community, ben)
    assert "1 colleague reached" in await progress_of(community, ben)
    assert "1. Connect — ○ Not started" in await progress_of(community, ana)


async def test_sharing_the_same_link_and_pressing_useful_again_count_once(
    coach: PLNCoachBot, community: Community
) -> None:
    ana, ben = community.ana.id, community.ben.id
    for _ in range(3):
        await run_command(community, ana, "share", {"url": "https://example.org/rubric"})
    [card] = bot_posts(community, community.general.id)
    replies = [(await press_button(community, card, ben)).content for _ in range(4)]
    assert sum("already marked" in reply for reply in replies) == 3
    assert "your own share" in (await press_button(community, card, ana)).content

    progress = await progress_of(community, ana)
    assert "1 share · 1 found useful by others" in progress
    assert "2. Contribute — ◔ Started" in progress  # Practicing needs 3 different shares


async def test_many_messages_in_one_question_are_one_answer_and_helpful_counts_once(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    ana, ben = community.ana.id, community.ben.id
    await ask(community, ana)
    thread_id = thread_post(community).id
    answers = [await emu.send_message(thread_id, ben, f"Tip {n}") for n in range(5)]
    await settle(coach)
    for answer in answers[:2]:  # thanks for two messages of one answer...
        ix = await emu.run_context_command(
            community.guild.id, thread_id, ana, "Mark as helpful", target_message_id=answer.id
        )
        await ix.wait_response()

    async def counted() -> bool:
        return "1 answer · 1 found useful by others" in await progress_of(community, ben)

    await eventually(counted, what="Ben's single answer, found useful once")
    ben_progress = await progress_of(community, ben)
    assert "2. Contribute — ◔ Started" in ben_progress  # not Practicing from one question


async def test_a_member_going_too_fast_is_asked_to_wait_and_nothing_is_stored(
    coach: PLNCoachBot, community: Community
) -> None:
    ana, ben = community.ana.id, community.ben.id
    answers = [
        (await run_command(community, ana, "share", {"url": f"https://a.org/{n}"})).content
        for n in range(7)
    ]
    assert all("Shared!" in answer for answer in answers[:6])
    assert "One moment: you can use this again in" in answers[6]
    assert len(bot_posts(community, community.general.id)) == 6
    # Only Ana waits: Ben, and Ana's other commands, are not slowed down.
    assert (
        "Shared!" in (await run_command(community, ben, "share", {"url": "https://b.org"})).content
    )
    assert "Contribute" in await progress_of(community, ana)
