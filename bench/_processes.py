"""Benchmark parts in their own processes: the emulator, the real PLN Coach, a bare discord.py bot.

Each measured program gets its own process (and so its own CPU share and event loop), as in
production, where Discord is not in the bot's process either. The emulator is driven through
its control API (``emulator.control``); PLN Coach is started exactly as an operator starts it,
``python -m bot --config config.toml run``, with a config pointing at the emulator.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]


def _environment() -> dict[str, str]:
    """This environment without bot settings (PLN_*, DISCORD_TOKEN), which would override ours."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PLN_") and key != "DISCORD_TOKEN"
    }


async def _stop(process: asyncio.subprocess.Process, within: float = 60) -> int | None:
    """SIGINT (a clean stop), then SIGKILL if it takes longer than ``within`` seconds."""
    if process.returncode is not None:
        return process.returncode
    process.send_signal(signal.SIGINT)
    try:
        return await asyncio.wait_for(process.wait(), within)
    except TimeoutError:
        process.kill()
        return await process.wait()


class EmulatorProcess:
    """``python -m emulator`` and a client for its control API."""

    def __init__(self, *args: str) -> None:
        self._args = args
        self.process: asyncio.subprocess.Process | None = None
        self.urls: dict[str, Any] = {}
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "emulator",
            *self._args,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        if not line:
            raise RuntimeError("the emulator process exited before it was listening")
        self.urls = json.loads(line)
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600))

    @property
    def api_base_url(self) -> str:
        return str(self.urls["api_base_url"])

    @property
    def gateway_url(self) -> str:
        return str(self.urls["gateway_url"])

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        assert self._http is not None, "start() first"
        url = self.urls["control_url"] + path
        async with self._http.request(method, url, json=body) as response:
            data = await response.json()
            if response.status >= 400:
                raise RuntimeError(f"emulator control {method} {path}: {data}")
            return data

    async def wait_for_sessions(self, count: int, within: float = 60) -> list[dict[str, Any]]:
        """Wait until ``count`` gateway sessions are ready and connected; returns them."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            ready = [
                s for s in await self.call("GET", "/sessions") if s["ready"] and s["connected"]
            ]
            if len(ready) >= count:
                return ready
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{len(ready)} of {count} bots connected after {within} s")
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self.process is not None:
            await _stop(self.process, 10)


class CoachProcess:
    """The real bot, ``python -m bot run``, on the emulator and a database of the caller's."""

    def __init__(
        self,
        folder: Path,
        emulator: EmulatorProcess,
        token: str,
        database_url: str,
        *,
        requests_per_second: float | None = None,
    ):
        """``requests_per_second`` replaces the bot's own pacing under Discord's global limit."""
        self.folder = folder
        self.config = folder / "config.toml"
        self.log_path = folder / "pln-coach.log"
        pacing = (
            "" if requests_per_second is None else f"requests_per_second = {requests_per_second}"
        )
        self.config.write_text(
            f"""
[discord]
token = "{token}"
api_base_url = "{emulator.api_base_url}"
gateway_url = "{emulator.gateway_url}"
{pacing}

[database]
url = "{database_url}"

[limits]
# A benchmark's few members act far faster than people do.
member_cooldowns = false

[logging]
level = "INFO"
"""
        )
        self.config.chmod(0o600)  # it holds the token (the bot warns otherwise)
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "--config",
                str(self.config),
                "run",
                cwd=self.folder,
                env=_environment(),
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def check_alive(self) -> None:
        if self.process is not None and self.process.returncode is not None:
            raise RuntimeError(f"PLN Coach exited:\n{self.log_path.read_text()[-3000:]}")

    async def stop(self) -> int | None:
        return None if self.process is None else await _stop(self.process)


class BareBotProcess:
    """``bench._bare_bot`` (``with_commands``: bare versions of PLN Coach's hot commands too);
    ``events`` follows the count it reports on stdout."""

    def __init__(self, emulator: EmulatorProcess, token: str, *, with_commands: bool = False):
        self._args = (
            "--token",
            token,
            "--api-base-url",
            emulator.api_base_url,
            "--gateway-url",
            emulator.gateway_url,
            *(("--commands",) if with_commands else ()),
        )
        self.process: asyncio.subprocess.Process | None = None
        self.events = 0
        self.samples: list[tuple[float, int]] = []
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench._bare_bot",
            *self._args,
            cwd=ROOT,
            env=_environment(),
            stdout=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def _read(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        async for line in _lines(self.process.stdout):
            report = json.loads(line)
            if "events" in report:
                self.events = int(report["events"])
                self.samples.append((float(report["t"]), self.events))

    async def stop(self) -> int | None:
        code = None if self.process is None else await _stop(self.process, 10)
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        return code


async def _lines(stream: asyncio.StreamReader) -> AsyncIterator[bytes]:
    while line := await stream.readline():
        yield line
