"""A weekly challenge survives kill -9 between deciding it and recording its post.

The bot runs as `pln-coach run` in its own process with its weekly clock shifted to just after
Monday 09:00, and is killed the moment Discord (the emulator) creates the challenge, before the
bot hears back. The restarted process finds the post by its marker: one post, none missing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.db import Database, OutboxPost, WeeklySchedule, utcnow
from tests.e2e.bot_subprocess import BotSubprocess
from tests.e2e.conftest import Community
from tests.e2e.helpers import bot_posts, eventually


async def _read(database_url: str, query: Any) -> list[Any]:
    database = Database(database_url)
    try:
        async with database.read() as session:
            return list((await session.execute(query)).all())
    finally:
        await database.dispose()


def _challenges(community: Community) -> list[int]:
    return [
        message.id
        for message in bot_posts(community, community.resources.id)
        if message.embeds and message.embeds[0]["title"].startswith("Weekly challenge")
    ]


async def test_kill_9_after_the_post_reached_discord_leaves_exactly_one_challenge(
    community: Community, database_url: str, tmp_path: Path
) -> None:
    emu = community.emulator
    emu.nonce_window = 0  # the marker lookup, not Discord's nonce check, must prevent a repeat
    bot = BotSubprocess(community, tmp_path, database_url)
    try:
        await bot.start()
        ix = await emu.run_slash_command(
            community.guild.id,
            community.general.id,
            community.admin.id,
            "challenge schedule",
            {
                "channel": community.resources.id,
                "weekday": "Monday",
                "time": "09:00",
                "timezone": "America/Chicago",
            },
        )
        await ix.wait_original_edit(timeout=5)
        [(due,)] = await _read(
            database_url,
            select(WeeklySchedule.next_run_at).where(WeeklySchedule.kind == "challenge"),
        )
        assert await bot.stop() == 0

        created: list[int] = []

        def kill_at_the_challenge(event: str, data: Any) -> None:
            embeds = data.get("embeds") or []
            if event == "MESSAGE_CREATE" and embeds and "Weekly challenge" in embeds[0]["title"]:
                created.append(int(data["id"]))
                bot.kill()

        emu.add_listener(kill_at_the_challenge)
        bot.clock_shift = shift_to(due + timedelta(seconds=25))
        await bot.start()
        await bot.wait_dead(30)
        emu.remove_listener(kill_at_the_challenge)
        assert len(created) == 1
        [(state, message_id)] = await _read(
            database_url, select(OutboxPost.state, OutboxPost.message_id)
        )
        assert (state, message_id) == ("pending", None)  # posted, never recorded

        bot.clock_shift = shift_to(due + timedelta(seconds=40))
        await bot.start()

        async def recorded() -> bool:
            rows = await _read(database_url, select(OutboxPost.state, OutboxPost.message_id))
            return rows == [("posted", created[0])]

        await eventually(recorded, 30, "the restarted bot to record the post it found")
        assert _challenges(community) == created  # one challenge, the one Discord got first
        assert await bot.stop() == 0
        assert "Traceback" not in bot.log()
    finally:
        bot.kill()


def shift_to(moment: datetime) -> float:
    """The clock shift that makes it ``moment`` now."""
    return (moment - utcnow()).total_seconds()
