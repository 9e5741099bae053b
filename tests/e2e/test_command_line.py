"""`pln-coach run` with a token: the real command line, configured like an operator would.

The emulator stands in for discord.com; config.toml points the bot at it through
``discord.api_base_url`` and ``discord.gateway_url``, the settings REST proxies use too.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from tests.conftest import environment_without_bot_settings
from tests.e2e.conftest import Community
from tests.e2e.helpers import run_command


async def test_run_with_a_token_serves_commands_and_never_logs_the_token(
    community: Community, tmp_path: Path
) -> None:
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
    environment = environment_without_bot_settings()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=environment,
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
            community, community.ana.id, "share", {"url": "https://example.org/cli"}
        )
        assert "Shared!" in reply.content
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = await asyncio.wait_for(reading, timeout=30)
    log = output.decode()
    assert process.returncode == 0, log
    assert community.app.token not in log
    assert "Traceback" not in log
    assert (tmp_path / "bot.sqlite3").exists()
