"""/ask end to end: a thread (or forum post) for the question, helper pings, Mark as helpful."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

from bot.app import PLNCoachBot
from bot.db import Ask, Tie
from bot.services.asks import OpenAsk
from cogs.request.posts import open_asks_text
from emulator.state import Message
from tests.e2e.conftest import Community
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

QUESTION = "How do you grade lab reports without spending all weekend?"


async def offer_help(community: Community, user_id: int, tag: str) -> None:
    reply = await run_command(community, user_id, "connect helper", {"tag": tag, "help": "on"})
    assert "will name you" in reply.content


async def ask(community: Community, user_id: int, tags: str | None = None) -> str:
    options = {"question": QUESTION} | ({"tags": tags} if tags else {})
    ix = await community.emulator.run_slash_command(
        community.guild.id, community.general.id, user_id, "ask", options
    )
    reply = await answer_of(ix)
    assert reply.flags & EPHEMERAL
    return await answer_when(ix, lambda text: "on its way" not in text)


def thread_post(community: Community) -> Message:
    [post] = [
        m
        for m in bot_posts(community, community.general.id)
        if m.content.startswith("**A question from")
    ]
    return post


async def test_ask_opens_a_thread_and_pings_only_helpers_who_offered(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    cleo = emu.create_user("cleo", global_name="Cleo")
    emu.add_member(community.guild.id, cleo.id)
    await offer_help(community, community.ben.id, "assessment")
    await run_command(community, cleo.id, "progress")  # Cleo is known here, but offered nothing

    answer = await ask(community, community.ana.id, "assessment, science")
    post = thread_post(community)
    assert post.pings.users == {community.ben.id}  # the asker and Cleo are not notified
    assert not post.pings.roles
    assert not post.pings.everyone
    assert f"<@{community.ana.id}>" in post.content
    assert QUESTION in text_of(post)
    thread = emu.world.channels[post.id]  # a thread takes its first message's id
    assert thread.parent_id == community.general.id
    assert thread.name == QUESTION

    assert f"Your question is up in <#{post.id}>" in answer
    assert f"<@{community.ben.id}> — offered to help with assessment" in answer
    assert "(notified: they offered to help)" in answer


async def test_mark_as_helpful_by_the_asker_only_once_and_only_in_an_ask(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    await ask(community, community.ana.id, "assessment")
    thread_id = thread_post(community).id
    answer = await emu.send_message(thread_id, community.ben.id, "Single-point rubrics!")
    own = await emu.send_message(thread_id, community.ana.id, "Tell me more")

    async def mark(user_id: int, message_id: int, channel_id: int = thread_id) -> str:
        ix = await emu.run_context_command(
            community.guild.id,
            channel_id,
            user_id,
            "Mark as helpful",
            target_message_id=message_id,
        )
        reply = await answer_of(ix)
        assert reply.flags & EPHEMERAL
        return reply.content

    assert "Only <@" in await mark(community.ben.id, answer.id)  # Ben did not ask
    assert "your own message" in await mark(community.ana.id, own.id)
    assert "Marked helpful" in await mark(community.ana.id, answer.id)
    assert "already marked" in await mark(community.ana.id, answer.id)
    elsewhere = await emu.send_message(community.general.id, community.ben.id, "hi")
    assert "inside a question's thread" in await mark(
        community.ana.id, elsewhere.id, community.general.id
    )

    await eventually(
        lambda: any("marked" in text_of(m) for m in bot_posts(community, thread_id)),
        what="the thank-you in the thread",
    )
    [thanks] = [m for m in bot_posts(community, thread_id) if "as helpful" in text_of(m)]
    assert not thanks.pings.any
    assert f"<@{community.ben.id}>" in text_of(thanks)


async def test_in_a_forum_the_ask_is_a_post_with_the_forums_matching_tags(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    forum = emu.create_forum_channel(community.guild.id, "questions", ["Assessment", "Math"])
    done = await run_command(
        community, community.admin.id, "pln asks-channel", {"channel": forum.id}
    )
    assert f"<#{forum.id}>" in done.content

    answer = await ask(community, community.ana.id, "assessment, grading")
    threads = [c for c in emu.world.channels.values() if c.parent_id == forum.id]
    assert len(threads) == 1
    [post] = threads
    assert forum.forum is not None
    assert post.thread is not None
    tags = {tag.id: tag.name for tag in forum.forum.available_tags}
    assert [tags[t] for t in post.thread.applied_tags or ()] == ["Assessment"]
    assert f"<#{post.id}>" in answer


async def test_open_asks_lists_questions_without_answers(
    coach: PLNCoachBot, community: Community
) -> None:
    await ask(community, community.ana.id)
    reply = await run_command(community, community.ben.id, "asks open")
    assert reply.flags & EPHEMERAL
    assert f"<@{community.ana.id}>: How do you grade lab reports" in reply.content
    assert "Asked lately" in reply.content


async def test_an_answer_in_the_thread_closes_the_ask_and_deleting_it_reopens_it(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    await ask(community, community.ana.id)
    thread_id = thread_post(community).id
    await emu.send_message(thread_id, community.ana.id, "Some more detail")  # not an answer

    async def open_asks() -> str:
        return (await run_command(community, community.ben.id, "asks open")).content

    assert "How do you grade lab reports" in await open_asks()
    answer = await emu.send_message(thread_id, community.ben.id, "Rubrics with three rows")

    async def answered() -> bool:
        return "Every question here has an answer" in await open_asks()

    await eventually(answered, what="the answer to be recorded")
    # The answer reached the asker: a tie, and Contribute credit for Ben.
    assert await count_rows(coach, Tie) == 1
    progress = text_of(await run_command(community, community.ben.id, "progress"))
    assert "1. Connect — ◔ Started" in progress

    await emu.delete_message(answer.id, community.ben.id)
    await eventually(
        lambda: _contains(open_asks(), "How do you grade lab reports"), what="the ask to reopen"
    )


async def _contains(text: Awaitable[str], part: str) -> bool:
    return part in await text


async def test_asking_answering_and_marking_move_request_and_contribute(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    await ask(community, community.ana.id)
    thread_id = thread_post(community).id
    progress = text_of(await run_command(community, community.ana.id, "progress"))
    assert "4. Request — ◔ Started" in progress

    answer = await emu.send_message(thread_id, community.ben.id, "Peer review first")
    await eventually(lambda: count_rows(coach, Tie), what="the answer")
    ix = await emu.run_context_command(
        community.guild.id,
        thread_id,
        community.ana.id,
        "Mark as helpful",
        target_message_id=answer.id,
    )
    await answer_of(ix)
    progress = text_of(await run_command(community, community.ana.id, "progress"))
    assert "4. Request — ◑ Practicing" in progress
    assert "1 with an answer you marked helpful" in progress
    ben = text_of(await run_command(community, community.ben.id, "progress"))
    assert "2. Contribute — ◔ Started" in ben
    assert "1 answer · 1 found useful by others" in ben


def test_open_asks_with_long_questions_fit_in_one_message() -> None:
    """Found by the fuzz (test_fuzz_commands): 15 open asks with long questions made a list
    longer than Discord's 2,000 characters, and /asks open answered "something went wrong"."""
    now = datetime.now(UTC)
    asks = [
        OpenAsk(n, 10**18 + n, "Ana", f"{n} " + "*" * 900, now - timedelta(days=n), n, 10**18 + n)
        for n in range(15)
    ]
    text = open_asks_text(asks, 10**18, (now - timedelta(hours=48)).timestamp())
    assert len(text) <= 2000
    assert text.endswith("the rest show up here.")
    shown = text.count("• ")
    assert f"…and {15 - shown} more" in text
    assert open_asks_text(asks[:3], 10**18, now.timestamp()).count("• ") == 3


async def test_an_ask_delivered_twice_is_asked_once(
    coach: PLNCoachBot, community: Community
) -> None:
    """A gateway resume can deliver the same /ask again. The copy is left to the first: it
    stores nothing (no second ask, whose thread would follow) and doesn't race to acknowledge.
    """
    emu = community.emulator
    ix = await emu.run_slash_command(
        community.guild.id, community.general.id, community.ana.id, "ask", {"question": QUESTION}
    )
    assert emu.replay_last(1, application_id=community.app.id) == 1  # the same INTERACTION_CREATE
    await answer_when(ix, lambda text: "Your question is up in" in text)
    await asyncio.sleep(0.2)  # the copy came right after the original
    assert await count_rows(coach, Ask) == 1
    callbacks = [r for r in emu.requests if r.path.startswith(f"/interactions/{ix.id}/")]
    assert [r.status < 300 for r in callbacks] == [True]
