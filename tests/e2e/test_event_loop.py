"""The bot's own code never holds the event loop for more than 100 ms.

asyncio's debug mode (PYTHONASYNCIODEBUG=1) reports every callback or task step that runs longer
than ``slow_callback_duration`` (100 ms): exactly what would delay heartbeats and other members'
answers. The bot runs in its own process, so the emulator's work is not counted.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.bot_subprocess import BotSubprocess
from tests.e2e.conftest import Community
from tests.e2e.helpers import bot_posts, press_button, run_command

SLOW_STEP = re.compile(r"Executing .* took \d+\.\d+ seconds")


@pytest.mark.timing  # another test running beside it would stretch its steps
async def test_no_step_of_the_bot_blocks_the_loop_for_100_ms(
    community: Community, empty_database_url: str, tmp_path: Path
) -> None:
    bot = BotSubprocess(
        community, tmp_path, empty_database_url, environment={"PYTHONASYNCIODEBUG": "1"}
    )
    await bot.start()  # includes migrating a new database
    try:
        for n in range(5):
            reply = await run_command(
                community, community.ana.id, "share", {"url": f"https://a.org/{n}"}
            )
            assert "**Shared!**" in reply.content
        card = bot_posts(community, community.general.id)[0]
        assert "counts toward" in (await press_button(community, card, community.ben.id)).content
        await run_command(community, community.ana.id, "progress")
    finally:
        assert await bot.stop() == 0
    # The migration before login runs on a thread with an event loop of its own (SQLite's
    # statements are inline, and alembic's work is blocking): nothing else waits on that loop.
    slow = [step for step in SLOW_STEP.findall(bot.log()) if "coro=<migrate_database()" not in step]
    assert not slow, slow
