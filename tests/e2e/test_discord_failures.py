"""Discord failing the bot: a refused channel is tried once, then paused until `/pln check`;
outages are retried with growing waits; a dropped gateway resumes without losing tracking."""

from __future__ import annotations

import itertools

import pytest

from bot.app import PLNCoachBot
from bot.db import ActivityEvent, BlockedChannel
from emulator.permissions import P
from tests.e2e.conftest import Community
from tests.e2e.helpers import bot_posts, count_rows, eventually, run_command
from tests.e2e.test_nudges import dms_to

SHARES = 12


def refused_requests(community: Community, channel_id: int) -> int:
    """4xx answers the bot got for requests about the channel (a ban counts these)."""
    return sum(
        1
        for request in community.emulator.requests
        if request.application_id == community.app.id
        and f"/channels/{channel_id}/" in request.path
        and 400 <= request.status < 500
        and request.status != 429
    )


async def share(community: Community, number: int) -> str:
    reply = await run_command(
        community,
        community.ana.id,
        "share",
        {"url": f"https://example.org/lesson-{number}", "title": f"Lesson {number}"},
    )
    return reply.content


@pytest.mark.no_cooldowns  # one member shares a dozen links at once
async def test_a_refused_channel_is_tried_once_then_paused_until_pln_check(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    resources = community.resources.id
    await run_command(community, community.admin.id, "pln shares-channel", {"channel": resources})
    # An admin takes Send Messages away; the bot's cache misses the update, so it finds out
    # the way a real bot does: Discord refuses the post.
    emu.set_permission_overwrite(
        resources, community.bot_role.id, deny=P.SEND_MESSAGES, notify=False
    )

    answers = [await share(community, number) for number in range(SHARES)]
    await eventually(
        lambda: all("couldn't" in text or "paused" in text for text in answers),
        what="every sharer told their card did not go up",
    )
    assert refused_requests(community, resources) == 1  # never hammered
    assert bot_posts(community, resources) == []
    assert await count_rows(coach, BlockedChannel) == 1
    # The owner hears of it once, not once per refused post.
    await eventually(lambda: len(dms_to(community, community.admin.id)) == 1, what="one notice")
    [notice] = dms_to(community, community.admin.id)
    assert "#resources" in notice.content
    assert "/pln check" in notice.content

    # Still missing: /pln check says exactly what, and posting stays paused.
    report = await run_command(community, community.admin.id, "pln check")
    assert "Send Messages" in report.content
    assert "stays paused" in report.content
    await share(community, 100)
    assert refused_requests(community, resources) == 1

    # Granted again: /pln check resumes posting there.
    emu.set_permission_overwrite(resources, community.bot_role.id, deny=0, notify=False)
    report = await run_command(community, community.admin.id, "pln check")
    assert "Posting resumed" in report.content, report.content
    assert "All good" in report.content
    assert await count_rows(coach, BlockedChannel) == 0
    answer = await share(community, 200)
    assert "couldn't" not in answer
    assert "paused" not in answer
    await eventually(lambda: len(bot_posts(community, resources)) == 1, what="the card posted")
    assert len(dms_to(community, community.admin.id)) == 1


async def test_a_discord_outage_is_retried_with_growing_waits_and_posts_once(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    general = community.general.id
    emu.inject_outage("POST", f"/channels/{general}/messages", count=3)
    await share(community, 1)
    await eventually(lambda: len(bot_posts(community, general)) == 1, 20, "the card, at last")
    attempts = [
        request.at
        for request in emu.requests
        if request.method == "POST" and request.path == f"/channels/{general}/messages"
    ]
    assert len(attempts) == 4  # three 503s, then the post: no more, no fewer
    waits = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    assert waits[0] >= 0.9
    assert waits[2] > waits[0]
    assert len(bot_posts(community, general)) == 1


async def test_members_activity_during_a_gateway_outage_is_tracked_after_the_resume(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    post = await emu.send_message(community.general.id, community.ana.id, "Any tips?")
    await emu.drop_connections(abrupt=True)
    # While the bot is cut off, members keep talking; Discord keeps the events for the resume.
    await emu.send_message(community.general.id, community.ben.id, "Yes!", reply_to=post.id)
    await emu.add_reaction(community.general.id, post.id, community.ben.id, "👍")

    async def tracked() -> bool:
        return await count_rows(coach, ActivityEvent) == 2

    await eventually(tracked, 20, "the reply and the reaction, after the resume")
    assert any(session.resumed_count for session in emu.gateway_sessions)
