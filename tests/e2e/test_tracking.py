"""Passive tracking end to end: members reply, talk in threads, react and delete, in the emulator.

The bot has no message-content intent and stores metadata only; what members do shows up as
Connect and Converse progress.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from sqlalchemy import func, select

from bot.app import PLNCoachBot
from bot.db import ActivityEvent, Base, ConversationWeek, Database, Tie
from tests.e2e.bot_subprocess import BotSubprocess
from tests.e2e.conftest import BotProcess, Community
from tests.e2e.helpers import bot_posts, count_rows, eventually, run_command, text_of


async def _none(bot: PLNCoachBot, model: type) -> bool:
    return await count_rows(bot, model) == 0


async def _settle(bot: PLNCoachBot) -> None:
    """Let the gateway events reach the bot, then store what it queued."""
    await asyncio.sleep(0.2)
    while bot.ingest.backlog:
        await bot.ingest.flush()


async def test_a_reply_reaches_a_colleague_and_a_reply_back_is_a_conversation(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    question = await emu.send_message(community.general.id, community.ana.id, "Any tips?")
    await emu.send_message(
        community.general.id, community.ben.id, "Try exit tickets", reply_to=question.id
    )
    await eventually(lambda: count_rows(coach, Tie, Tie.b_to_a == 1))
    progress = await run_command(community, community.ben.id, "progress")
    assert "1. Connect — ◔ Started" in text_of(progress)
    assert "1 colleague reached" in text_of(progress)

    answer = await emu.send_message(community.general.id, community.ben.id, "More?")
    await emu.send_message(community.general.id, community.ana.id, "Thanks!", reply_to=answer.id)
    await eventually(lambda: count_rows(coach, ConversationWeek))
    progress = await run_command(community, community.ana.id, "progress")
    assert "3. Converse — ◔ Started" in text_of(progress)


async def test_three_turns_in_a_thread_are_a_conversation(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    thread = await emu.create_thread(community.general.id, community.ana.id, "Grading ideas")
    for author in (community.ben.id, community.ana.id):
        await emu.send_message(thread.id, author, "...")
    await eventually(lambda: count_rows(coach, ConversationWeek))
    assert await count_rows(coach, ActivityEvent, ActivityEvent.kind == "thread_created") == 1


async def test_a_reaction_counts_until_it_is_removed_and_a_deleted_reply_stops_counting(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    post = await emu.send_message(community.general.id, community.ana.id, "My unit plan")
    await emu.add_reaction(community.general.id, post.id, community.ben.id, "👍")
    await eventually(lambda: count_rows(coach, Tie))
    await emu.remove_reaction(community.general.id, post.id, community.ben.id, "👍")
    await eventually(lambda: _none(coach, Tie))

    reply = await emu.send_message(community.general.id, community.ben.id, "Nice", reply_to=post.id)
    await eventually(lambda: count_rows(coach, Tie))
    await emu.delete_message(reply.id, community.ben.id)
    await eventually(lambda: _none(coach, Tie))
    assert await count_rows(coach, ActivityEvent) == 0


async def test_bots_and_talking_to_oneself_nevercount_rows(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    helper_bot = emu.create_user("quizbot", bot=True)
    emu.add_member(community.guild.id, helper_bot.id)
    post = await emu.send_message(community.general.id, community.ana.id, "Hello")
    await emu.send_message(community.general.id, helper_bot.id, "Beep", reply_to=post.id)
    await emu.send_message(community.general.id, community.ana.id, "Me again", reply_to=post.id)
    await emu.add_reaction(community.general.id, post.id, community.ana.id, "🎉")
    await emu.add_reaction(community.general.id, post.id, helper_bot.id, "🤖")
    bot_post = await emu.send_message(community.general.id, helper_bot.id, "Quiz time")
    await emu.send_message(community.general.id, community.ben.id, "Ok", reply_to=bot_post.id)
    await emu.add_reaction(community.general.id, bot_post.id, community.ben.id, "👍")
    await _settle(coach)
    assert await count_rows(coach, ActivityEvent) == 0
    assert await count_rows(coach, Tie) == 0


async def test_the_same_events_delivered_twice_count_once(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    post = await emu.send_message(community.general.id, community.ana.id, "Poll")
    await emu.send_message(community.general.id, community.ben.id, "Yes", reply_to=post.id)
    await emu.add_reaction(community.general.id, post.id, community.ben.id, "👍")
    await _settle(coach)
    assert emu.replay_last(2) > 0  # a resume replaying what the bot already had
    await _settle(coach)
    assert await count_rows(coach, ActivityEvent) == 2
    async with coach.services.database.read() as session:
        assert (await session.execute(select(Tie.a_to_b, Tie.b_to_a))).one() == (0, 2)


async def test_a_clean_stop_stores_every_signal_still_queued(
    bot_process: BotProcess, community: Community
) -> None:
    emu = community.emulator
    bot = await bot_process.start()
    post = await emu.send_message(community.general.id, community.ana.id, "Question")
    for n in range(5):
        await emu.send_message(
            community.general.id, community.ben.id, f"Answer {n}", reply_to=post.id
        )

    async def queued() -> bool:
        return bot.ingest.backlog == 5

    await eventually(queued)  # in the buffer, not yet written (it flushes once a second)
    await bot_process.stop()
    bot = await bot_process.start()
    assert await count_rows(bot, ActivityEvent) == 5


async def test_what_members_write_is_stored_nowhere(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    secret = "zebra-7f3c-unique-lesson-text"
    post = await emu.send_message(community.general.id, community.ana.id, f"{secret} one")
    await emu.send_message(community.general.id, community.ben.id, f"{secret} 2", reply_to=post.id)
    thread = await emu.create_thread(community.general.id, community.ben.id, f"{secret} thread")
    await emu.send_message(thread.id, community.ana.id, f"{secret} in a thread")
    await eventually(
        lambda: count_rows(coach, ActivityEvent, ActivityEvent.kind == "thread_message")
    )
    async with coach.services.database.read() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                assert all(secret not in str(value) for value in row), (table.name, row)


async def test_sigterm_is_a_clean_stop_that_stores_what_was_queued(
    community: Community, database_url: str, tmp_path: Path
) -> None:
    """Process managers stop the bot with SIGTERM; the last second of signals must survive it."""
    emu = community.emulator
    bot = BotSubprocess(community, tmp_path, database_url)
    try:
        await bot.start()
        post = await emu.send_message(community.general.id, community.ana.id, "Question")
        for n in range(5):
            await emu.send_message(
                community.general.id, community.ben.id, f"Answer {n}", reply_to=post.id
            )
        await asyncio.sleep(0.2)  # delivered to the bot, likely not yet written
        assert bot.process is not None
        bot.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.process.wait(), 30) == 0, bot.log()
    finally:
        bot.kill()
    database = Database(database_url)
    try:
        async with database.read() as session:
            stored = await session.scalar(select(func.count()).select_from(ActivityEvent))
    finally:
        await database.dispose()
    assert stored == 5
    assert "Traceback" not in bot.log()


async def test_a_reaction_on_a_resource_card_credits_the_member_who_shared_it(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    await run_command(community, community.ana.id, "share", {"url": "https://a.org/plan"})
    [card] = bot_posts(community, community.general.id)
    await emu.add_reaction(community.general.id, card.id, community.ben.id, "❤️")
    ana = text_of(await run_command(community, community.ana.id, "progress"))
    assert "1 share · 1 found useful by others" in ana  # used by others (Contribute)
    ben = text_of(await run_command(community, community.ben.id, "progress"))
    assert "1. Connect — ◔ Started" in ben  # and Ben reached Ana (Connect)
    await emu.remove_reaction(community.general.id, card.id, community.ben.id, "❤️")
    ana = text_of(await run_command(community, community.ana.id, "progress"))
    assert "1 share · 0 found useful by others" in ana
    await emu.add_reaction(community.general.id, card.id, community.ana.id, "❤️")  # her own
    ana = text_of(await run_command(community, community.ana.id, "progress"))
    assert "0 found useful by others" in ana


async def test_a_thread_started_by_someone_who_just_posted_costs_no_request(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    question = await emu.send_message(community.general.id, community.ana.id, "Rubrics?")
    await asyncio.sleep(0.2)  # the bot has seen Ana post
    thread = await emu.create_thread(
        community.general.id, community.ana.id, "Rubrics", message_id=question.id
    )
    await eventually(
        lambda: count_rows(coach, ActivityEvent, ActivityEvent.dedupe_key == f"thread:{thread.id}")
    )
    # The starter was known from her message: no member look-up, whatever the thread rate.
    assert [r for r in emu.requests if r.route.startswith("/guilds/{guild_id}/members/")] == []
