"""Weekly challenges and recaps, end to end: a real bot posting on a moved clock.

The bot's weekly clock is a ``ShiftedClock`` the test moves forward (no sleeping until Monday);
APScheduler wakes the bot, the database decides, the outbox posts.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.app import PLNCoachBot
from bot.db import ChallengeCompletion, ChallengeWeek, Recap, WeeklySchedule
from bot.scheduling.weekly import WEEKDAYS
from emulator.state import Message
from tests.e2e.conftest import BotProcess, Community
from tests.e2e.helpers import (
    EPHEMERAL,
    as_rendered,
    bot_posts,
    count_rows,
    eventually,
    press_button,
    run_command,
    text_of,
)

MONDAY, SUNDAY = 0, 6


async def settle() -> None:
    """Give the bot time to do what it should not (for "nothing more was posted")."""
    await asyncio.sleep(0.5)


# Past every server's spread (up to 20 s) and inside "on time".
AFTER_SPREAD = timedelta(seconds=25)


async def schedule(
    community: Community,
    *,
    weekday: int = MONDAY,
    time: str = "09:00",
    zone: str = "America/Chicago",
    user_id: int | None = None,
) -> Message:
    return await run_command(
        community,
        user_id or community.admin.id,
        "challenge schedule",
        {
            "channel": community.resources.id,
            "weekday": WEEKDAYS[weekday],
            "time": time,
            "timezone": zone,
        },
    )


async def next_run(bot: PLNCoachBot, kind: str = "challenge") -> datetime:
    async with bot.services.database.read() as session:
        value = await session.scalar(
            select(WeeklySchedule.next_run_at).where(WeeklySchedule.kind == kind)
        )
    assert value is not None
    return value


def challenge_posts(community: Community) -> list[Message]:
    return [
        message
        for message in bot_posts(community, community.resources.id)
        if message.embeds and message.embeds[0]["title"].startswith("Weekly challenge")
    ]


def recap_posts(community: Community) -> list[Message]:
    return [
        message
        for message in bot_posts(community, community.resources.id)
        if message.embeds and message.embeds[0]["title"].startswith("Weekly recap")
    ]


async def test_a_schedule_posts_one_challenge_a_week_on_time_with_an_i_did_it_button(
    coach: PLNCoachBot, community: Community, bot_process: BotProcess
) -> None:
    clock = bot_process.clock
    reply = await schedule(community)
    assert reply.flags & EPHEMERAL
    first = await next_run(coach)
    assert f"<t:{int(first.timestamp())}:F>" in reply.content
    assert "Mondays at 09:00 (America/Chicago)" in reply.content
    # 09:00 in Chicago, a Monday, in UTC.
    assert first.astimezone(UTC).hour in (14, 15)
    assert first.weekday() == MONDAY

    clock.set(first - timedelta(seconds=5))
    await settle()  # nothing due yet
    assert challenge_posts(community) == []
    clock.set(first + AFTER_SPREAD)
    await eventually(lambda: len(challenge_posts(community)) == 1, what="the first challenge")
    [post] = challenge_posts(community)
    assert "Connect" in post.embeds[0]["title"]  # rotation starts with the first habit
    [[button]] = [list(row["components"]) for row in post.components]
    assert button["label"] == "I did it"
    assert "Deadline" in text_of(post)
    assert not post.pings.any

    # Later the same week, and a restart: nothing more.
    clock.shift(timedelta(hours=2))
    coach = await bot_process.restart()
    await settle()
    assert len(challenge_posts(community)) == 1
    assert await count_rows(coach, ChallengeWeek) == 1

    # Moving the clock to the first Monday passed the Sunday recap by less than a day: it
    # went out late, once. The next recap comes the day before the next challenge, on time.
    [late_recap] = recap_posts(community)
    assert "Posted late" in text_of(late_recap)
    recap_at = await next_run(coach, "recap")
    assert recap_at < await next_run(coach)
    clock.set(recap_at + AFTER_SPREAD)
    await eventually(lambda: len(recap_posts(community)) == 2, what="the recap")
    recap = recap_posts(community)[1]
    assert recap.attachments
    assert recap.attachments[0]["filename"] == "recap.png"
    assert "Posted late" not in text_of(recap)
    assert "did “" in text_of(recap)  # the week's challenge and its completions
    second = await next_run(coach)
    clock.set(second + AFTER_SPREAD)
    await eventually(lambda: len(challenge_posts(community)) == 2, what="the second challenge")
    assert "Contribute" in challenge_posts(community)[1].embeds[0]["title"]
    await settle()
    assert len(recap_posts(community)) == 2
    assert len(challenge_posts(community)) == 2


async def test_i_did_it_counts_once_and_keeps_working_after_a_restart(
    coach: PLNCoachBot, community: Community, bot_process: BotProcess
) -> None:
    await schedule(community)
    bot_process.clock.set(await next_run(coach) + AFTER_SPREAD)
    await eventually(lambda: len(challenge_posts(community)) == 1, what="the challenge")
    [post] = challenge_posts(community)

    coach = await bot_process.restart()
    answer = await press_button(community, post, community.ana.id)
    assert answer.flags & EPHEMERAL
    assert "is done for you this week" in answer.content or "verified" in answer.content
    again = await press_button(community, post, community.ana.id)
    assert "already counted" in again.content
    assert await count_rows(coach, ChallengeCompletion) == 1

    current = await run_command(community, community.ana.id, "challenge current")
    assert "You did it" in current.content
    done = await run_command(community, community.ben.id, "challenge done")
    assert "done for you" in done.content or "verified" in done.content
    assert await count_rows(coach, ChallengeCompletion) == 2


async def test_a_wrong_zone_or_time_is_explained_privately_and_changes_nothing(
    coach: PLNCoachBot, community: Community
) -> None:
    reply = await schedule(community, zone="Mars/Olympus")
    assert reply.flags & EPHEMERAL
    assert "not a time zone I know" in reply.content
    reply = await schedule(community, time="25:99")
    assert "not a time of day" in reply.content
    assert await count_rows(coach, WeeklySchedule) == 0


async def test_only_server_managers_can_schedule(coach: PLNCoachBot, community: Community) -> None:
    reply = await schedule(community, user_id=community.ana.id)
    assert reply.flags & EPHEMERAL
    assert "Manage Server" in reply.content
    assert await count_rows(coach, WeeklySchedule) == 0


async def test_down_three_days_means_no_catch_up_post_and_the_next_week_as_usual(
    coach: PLNCoachBot, community: Community, bot_process: BotProcess
) -> None:
    await schedule(community)
    first = await next_run(coach)
    await bot_process.stop()
    bot_process.clock.set(first + timedelta(days=3))
    coach = await bot_process.start()

    async def moved_on() -> bool:
        return await next_run(coach) > first + timedelta(days=6)

    await eventually(moved_on, what="the schedule to skip to next week")
    await settle()
    assert challenge_posts(community) == []
    assert await count_rows(coach, ChallengeWeek) == 0


async def test_down_a_few_hours_means_one_late_post_with_a_note(
    coach: PLNCoachBot, community: Community, bot_process: BotProcess
) -> None:
    await schedule(community)
    first = await next_run(coach)
    await bot_process.stop()
    bot_process.clock.set(first + timedelta(hours=5))
    coach = await bot_process.start()
    await eventually(lambda: len(challenge_posts(community)) == 1, what="the late challenge")
    assert "Posted late" in text_of(challenge_posts(community)[0])
    assert await count_rows(coach, Recap) == 0


async def test_admins_curate_the_bank_and_preview_the_next_challenge(
    coach: PLNCoachBot, community: Community, bot_process: BotProcess
) -> None:
    added = await run_command(
        community,
        community.admin.id,
        "challenge add",
        {
            "habit": "request",
            "difficulty": "easy",
            "title": "Ask @everyone about *rubrics*",
            "text": "Ask one question about rubrics in #general.",
        },
    )
    assert "Added" in added.content
    assert not added.pings.any
    assert "custom:" in added.content

    listed = await run_command(
        community, community.admin.id, "challenge list", {"habit": "request"}
    )
    assert "Ask @everyone about" in as_rendered(listed.content)
    assert "yours" in listed.content
    first_key = re.findall(r"• `([^`]+)`", listed.content)[0]

    removed = await run_command(
        community, community.admin.id, "challenge remove", {"challenge": first_key}
    )
    assert "won't be picked" in removed.content or "deleted" in removed.content
    again = await run_command(community, community.admin.id, "challenge list", {"habit": "request"})
    assert f"`{first_key}`" not in again.content

    preview = await run_command(community, community.admin.id, "challenge preview")
    assert "Next: Connect" in preview.content  # a new server starts with Connect
    assert "No schedule yet" in preview.content

    for command in ("challenge add", "challenge list", "challenge preview", "recap preview"):
        options = (
            {"habit": "connect", "difficulty": "easy", "title": "x", "text": "y"}
            if command == "challenge add"
            else {}
        )
        refused = await run_command(community, community.ana.id, command, options)
        assert refused.flags & EPHEMERAL
        assert "Manage Server" in refused.content, command
    still = await run_command(community, community.admin.id, "challenge list", {"habit": "request"})
    assert "Ask @everyone" in as_rendered(still.content)  # nothing a refusal could change


async def test_recap_preview_and_shout_out_opt_out(
    coach: PLNCoachBot, community: Community
) -> None:
    await run_command(
        community, community.ana.id, "share", {"url": "https://example.org/rubric", "title": "R"}
    )
    preview = await run_command(community, community.admin.id, "recap preview")
    assert preview.flags & EPHEMERAL
    assert "Shares" in text_of(preview)
    assert f"<@{community.ana.id}>" in text_of(preview)  # a shout-out
    assert preview.attachments
    assert not preview.pings.any
    off = await run_command(community, community.ana.id, "recap shoutouts", {"setting": "off"})
    assert "won't name you" in off.content
    preview = await run_command(community, community.admin.id, "recap preview")
    assert f"<@{community.ana.id}>" not in text_of(preview)


async def test_pln_settings_shows_the_whole_set_up(
    coach: PLNCoachBot, community: Community
) -> None:
    empty = await run_command(community, community.admin.id, "pln settings")
    assert empty.flags & EPHEMERAL
    assert "where `/share` is used" in empty.content
    assert "Weekly challenge: not scheduled" in empty.content
    await run_command(
        community, community.admin.id, "pln asks-channel", {"channel": community.general.id}
    )
    await schedule(community)
    shown = await run_command(community, community.admin.id, "pln settings")
    assert f"Questions (`/pln asks-channel`): <#{community.general.id}>" in shown.content
    assert f"Weekly challenge: <#{community.resources.id}>, Mondays at 09:00" in shown.content
    assert "Weekly recap:" in shown.content
    assert "(the day before the challenge)" in shown.content
    assert "rotating the four habits" in shown.content
    assert not shown.pings.any
