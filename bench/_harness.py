"""What every benchmark needs: the real bot on the emulator, a load driver, and percentiles."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.app import PLNCoachBot
from bot.config import local_settings
from emulator import DiscordEmulator
from emulator.state import Application


@dataclass
class Result:
    name: str
    latencies: list[float]
    wall: float
    failures: int

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall

    def percentile(self, q: float) -> float:
        """The q-quantile latency, in milliseconds."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        return (
            f"{self.name:<9} n={len(self.latencies):<5} {self.throughput:8.1f}/s   "
            f"p50 {self.percentile(0.50):7.1f} ms   p99 {self.percentile(0.99):7.1f} ms   "
            f"mean {statistics.fmean(self.latencies) * 1000:7.1f} ms   failures {self.failures}"
        )


async def drive(
    name: str,
    n: int,
    concurrency: int,
    one: Callable[[int], Awaitable[None]],
    *,
    pace: float = 0.0,
) -> Result:
    """Run ``one(0..n-1)`` with ``concurrency`` in flight; time each and the whole.

    ``pace`` (seconds) spaces the starts out: request ``i`` starts no sooner than ``i * pace``
    after the first, as members' commands arrive at a steady rate rather than back to back.
    """
    latencies: list[float] = []
    failures = 0
    queue = iter(range(n))
    first = time.perf_counter()

    async def worker() -> None:
        nonlocal failures
        for index in queue:
            if pace:
                await asyncio.sleep(max(0.0, first + index * pace - time.perf_counter()))
            started = time.perf_counter()
            try:
                await one(index)
            except Exception:
                failures += 1
                continue
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(name, latencies, time.perf_counter() - started, failures)


@asynccontextmanager
async def coach_on(
    emulator: DiscordEmulator, app: Application, database_url: str
) -> AsyncIterator[PLNCoachBot]:
    """The production bot, connected to the emulator and ready."""
    settings = local_settings(
        token=app.token,
        api_base_url=emulator.api_base_url,
        gateway_url=emulator.gateway_url,
        database_url=database_url,
        member_cooldowns=False,  # a benchmark's few members act far faster than people do
    )
    bot = PLNCoachBot(settings, guild_ready_timeout=0.05)
    async with bot, bot.connected(app.token):
        yield bot
