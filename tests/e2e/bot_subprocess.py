"""The real `pln-coach run` in its own process, pointed at the test's emulator: for crash tests.

A bot inside the test's process cannot be killed -9; this one can, and restarted on the same
database, the way an operator's process manager would.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tests.conftest import environment_without_bot_settings

if TYPE_CHECKING:  # the conftest imports this module
    from tests.e2e.conftest import Community

# Every bot process a test started, so the end-to-end suite can search their logs for tokens.
STARTED: list[BotSubprocess] = []


class BotSubprocess:
    def __init__(
        self,
        community: Community,
        folder: Path,
        database_url: str,
        *,
        environment: dict[str, str] | None = None,
        log_level: str = "INFO",
        clock_shift: float = 0,
    ) -> None:
        self.community = community
        self.folder = folder
        self.database_url = database_url
        self.environment = environment_without_bot_settings() | (environment or {})
        self.log_level = log_level
        # Seconds the bot's weekly clock runs ahead (``challenges.clock_shift_seconds``).
        self.clock_shift = clock_shift
        self.process: asyncio.subprocess.Process | None = None
        self.runs = 0
        STARTED.append(self)

    @property
    def config_path(self) -> Path:
        return self.folder / "config.toml"

    @property
    def log_path(self) -> Path:
        return self.folder / f"bot-{self.runs}.log"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log(self) -> str:
        return "\n".join(
            (self.folder / f"bot-{run}.log").read_text(errors="replace")
            for run in range(1, self.runs + 1)
        )

    async def start(self, ready_within: float = 30) -> None:
        emu = self.community.emulator
        self.config_path.write_text(
            f"""
[discord]
token = "{self.community.app.token}"
api_base_url = "{emu.api_base_url}"
gateway_url = "{emu.gateway_url}"

[database]
url = "{self.database_url}"

[challenges]
clock_shift_seconds = {self.clock_shift}

[logging]
level = "{self.log_level}"
"""
        )
        self.config_path.chmod(0o600)  # it holds the token (the bot warns otherwise)
        known = {session.session_id for session in emu.gateway_sessions}
        self.runs += 1
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "--config",
                str(self.config_path),
                "run",
                cwd=self.folder,
                env=self.environment,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        deadline = asyncio.get_running_loop().time() + ready_within
        while not any(
            session.ready and session.session_id not in known for session in emu.gateway_sessions
        ):
            if self.process.returncode is not None:
                raise RuntimeError(f"the bot exited at start-up:\n{self.log()}")
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"the bot was not ready in {ready_within} s:\n{self.log()}")
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        """kill -9: no clean-up of any kind runs in the bot."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    async def wait_dead(self, timeout: float = 10) -> None:  # noqa: ASYNC109
        assert self.process is not None
        await asyncio.wait_for(self.process.wait(), timeout)

    async def stop(self) -> int | None:
        """Ctrl-C, as an operator stops the bot; returns its exit code."""
        if self.process is None or self.process.returncode is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGINT)
        try:
            return await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            raise
