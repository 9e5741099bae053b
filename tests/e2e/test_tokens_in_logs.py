"""At DEBUG, `pln-coach run` logs every REST call and gateway event, and still no token.

An interaction token lets anyone answer as the bot for 15 minutes; discord.py's DEBUG lines
carry them in callback and webhook URLs and in each INTERACTION_CREATE. The real command line
runs against the emulator here, and its whole output is searched for every token it was given.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.bot_subprocess import BotSubprocess
from tests.e2e.conftest import Community
from tests.e2e.helpers import run_command


async def test_debug_logs_show_no_interaction_token(community: Community, tmp_path: Path) -> None:
    emu = community.emulator
    bot = BotSubprocess(
        community, tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}", log_level="DEBUG"
    )
    await bot.start()
    try:
        reply = await run_command(community, community.ana.id, "ping")
        assert "Pong" in reply.content
        reply = await run_command(
            community, community.ana.id, "share", {"url": "https://example.org/tokens"}
        )
        assert "Shared!" in reply.content
    finally:
        returncode = await bot.stop()
    log = bot.log()
    assert returncode == 0, log[-3000:]
    assert len(emu.interactions) == 2
    for interaction in emu.interactions:
        # The random part: discord.py percent-encodes the ":" before it in URLs.
        secret = interaction.token.rpartition(":")[2]
        assert secret not in log
        # The lines are there, redacted: DEBUG really logged these calls and events.
        assert f"/interactions/{interaction.id}/***/callback" in log
    assert "'token': '***'" in log
    assert f"/webhooks/{community.app.id}/***/" in log
    assert community.app.token not in log
