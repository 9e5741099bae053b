"""At DEBUG, `pln-coach run` logs every REST call and gateway event, and still no token.

An interaction token lets anyone answer as the bot for 15 minutes; discord.py's DEBUG lines
carry them in callback and webhook URLs and in each INTERACTION_CREATE. The real command line
runs against the emulator here, and its whole output is searched for every token it was given.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from tests.conftest import environment_without_bot_settings
from tests.e2e.conftest import Community
from tests.e2e.helpers import run_command


async def test_debug_logs_show_no_interaction_token(community: Community, tmp_path: Path) -> None:
    emu = community.emulator
    (tmp_path / "config.toml").write_text(
        f"""
[discord]
token = "{community.app.token}"
api_base_url = "{emu.api_base_url}"
gateway_url = "{emu.gateway_url}"

[database]
url = "sqlite+aiosqlite:///{tmp_path / "bot.sqlite3"}"

[logging]
level = "DEBUG"
"""
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=environment_without_bot_settings(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    # Read as it comes: at DEBUG the bot writes more than a pipe holds.
    reading = asyncio.create_task(process.communicate())
    try:
        await emu.wait_until_ready(timeout=30)
        reply = await run_command(community, community.ana.id, "ping")
        assert "Pong" in reply.content
        reply = await run_command(
            community, community.ana.id, "share", {"url": "https://example.org/tokens"}
        )
        assert "Shared!" in reply.content
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = await asyncio.wait_for(reading, timeout=30)
    log = output.decode()
    assert process.returncode == 0, log[-3000:]
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
