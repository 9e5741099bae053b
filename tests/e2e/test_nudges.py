"""Opt-in DM nudges, end to end: a digest with the week's challenge, a reminder when an ask
waits two days, at most one DM a day, and closed DMs switching nudges off quietly."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.app import PLNCoachBot
from bot.db import MemberPreferences, NudgeSent, utcnow
from emulator.state import Message
from tests.e2e.conftest import BotProcess, Community
from tests.e2e.helpers import count_rows, eventually, run_command
from tests.e2e.test_challenges import AFTER_SPREAD, next_run, schedule, settle


def dms_to(community: Community, user_id: int) -> list[Message]:
    channel = community.emulator.world.dm_channel(community.app.bot_user.id, user_id)
    return [
        message
        for message in community.emulator.messages_in(channel.id)
        if message.author_id == community.app.bot_user.id
    ]


async def test_nudges_are_opt_in_daily_at_most_and_stop_quietly_when_dms_are_closed(
    coach: PLNCoachBot, community: Community, bot_process: BotProcess
) -> None:
    ana, ben = community.ana.id, community.ben.id
    on = await run_command(community, ana, "nudges on")
    assert "At most one DM a day" in on.content
    await run_command(community, ben, "nudges on")
    community.emulator.close_dms(ben)
    asked = await run_command(
        community, ana, "ask", {"question": "How do you grade group projects fairly?"}
    )
    assert asked.content

    # Two days on, nobody has answered Ana: one reminder, by DM.
    bot_process.clock.set(utcnow() + timedelta(hours=49))
    await eventually(lambda: len(dms_to(community, ana)) == 1, what="the unanswered-ask DM")
    [reminder] = dms_to(community, ana)
    assert "has no answer yet" in reminder.content
    assert "group projects" in reminder.content
    assert not reminder.pings.any

    # The week's challenge: a digest for Ana; Ben's DMs are closed, so his nudges stop.
    await schedule(community)
    bot_process.clock.set(await next_run(coach) + AFTER_SPREAD)
    await eventually(lambda: len(dms_to(community, ana)) == 2, what="the weekly digest")
    digest = dms_to(community, ana)[1]
    assert "Your next step:" in digest.content
    assert "/nudges off" in digest.content

    async def ben_switched_off() -> bool:
        async with coach.services.database.read() as session:
            stopped = await session.scalar(
                select(MemberPreferences.nudges_stopped).where(MemberPreferences.user_id == ben)
            )
        return stopped == "dms_closed"

    await eventually(ben_switched_off, what="Ben's nudges to stop")
    assert dms_to(community, ben) == []

    # Later that day nothing more is sent, whatever falls due.
    bot_process.clock.shift(timedelta(hours=1))
    await settle()
    assert len(dms_to(community, ana)) == 2
    assert await count_rows(coach, NudgeSent) == 3  # and the one Ben could not be sent

    off = await run_command(community, ana, "nudges off")
    assert "no more DM nudges" in off.content
    bot_process.clock.set(await next_run(coach) + AFTER_SPREAD)
    await settle()
    assert len(dms_to(community, ana)) == 2
