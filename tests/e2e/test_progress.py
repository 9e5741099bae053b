"""/progress end to end."""

from __future__ import annotations

from sqlalchemy import text

from bot.app import PLNCoachBot
from tests.e2e.conftest import Community
from tests.e2e.helpers import EPHEMERAL, run_command, text_of


async def test_a_newcomer_sees_four_habits_not_started(
    coach: PLNCoachBot, community: Community
) -> None:
    reply = await run_command(community, community.ana.id, "progress")
    assert reply.flags & EPHEMERAL
    body = text_of(reply)
    for number, habit in enumerate(("Connect", "Contribute", "Converse", "Request"), start=1):
        assert f"{number}. {habit} — ○ Not started" in body
    assert "/share" in body  # the next step names a real command


async def test_progress_of_a_colleague_shows_their_shares(
    coach: PLNCoachBot, community: Community
) -> None:
    await run_command(community, community.ben.id, "share", {"url": "https://example.org/b"})
    reply = await run_command(community, community.ana.id, "progress", {"member": community.ben.id})
    body = text_of(reply)
    assert "Ben's learning network" in body
    assert "Contribute — ◔ Started" in body
    assert "1 share" in body
    assert "Their next step" in body


async def test_progress_of_a_bot_is_politely_refused(
    coach: PLNCoachBot, community: Community
) -> None:
    reply = await run_command(
        community, community.ana.id, "progress", {"member": community.app.bot_user.id}
    )
    assert "Bots don't build learning networks" in reply.content


async def test_an_unexpected_failure_still_answers_the_member(
    coach: PLNCoachBot, community: Community
) -> None:
    async with coach.services.database.write() as session:
        await session.execute(text("DROP TABLE resource_tags"))
    reply = await run_command(
        community, community.ana.id, "share", {"url": "https://a.org/x", "tags": "math"}
    )
    assert reply.flags & EPHEMERAL
    assert "something went wrong on my side" in reply.content


async def test_ping_answers(coach: PLNCoachBot, community: Community) -> None:
    reply = await run_command(community, community.ana.id, "ping")
    assert "Pong" in reply.content
