"""The first /share unit after a quiet spell against one in a busy stream, on SQLite.

In ``make bench`` the first interaction of each paced round (after a second or two of quiet)
took 2.5-7 ms longer than the round's median on PLN Coach and 1.3-2 ms on the bare bot. Most
educators' servers are quiet, so for them every command is a first one. This times
``SharingService.share`` alone (one write unit: the share, its card and its answer owed) in a
stream of shares, and then after each of a few quiet spells, in one process with nothing else
running. The quiet is either slept (the CPU may idle) or spun (it may not), to tell a machine
that slows down when idle from state that goes cold with time.

    python -m bench.first_after_quiet [--gap 1.0] [--spells 8] [--spin]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.db import Database
from bot.db.migrate import upgrade
from bot.services.answers import AnswerTicket
from bot.services.members import Actor
from bot.services.share_input import parse_share
from bot.services.sharing import SharingService

WARM_UP = 200
STREAM = 50
MEMBERS = 60


class Sharer:
    def __init__(self, database: Database) -> None:
        self._service = SharingService(database)
        self._count = 0

    async def share(self) -> float:
        """One share of a new link; its time in ms."""
        self._count += 1
        number, now = self._count, datetime.now(UTC)
        ticket = AnswerTicket.for_interaction(
            application_id=1, channel_id=5, token=f"t{number}", created_at=now, owner="bench/1"
        )
        share = parse_share(f"https://example.org/{number}", "A title", "A note", "math, art")
        started = time.perf_counter()
        await self._service.share(
            Actor(1, "Bench", 100 + number % MEMBERS, f"Teacher {number}"), 5, share, answer=ticket
        )
        return (time.perf_counter() - started) * 1000


async def quiet(seconds: float, *, spin: bool) -> None:
    if not spin:
        await asyncio.sleep(seconds)
        return
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def measure(gap: float, spells: int, spin: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite+aiosqlite:///{Path(folder) / 'quiet.sqlite3'}")
        try:
            await upgrade(database)
            sharer = Sharer(database)
            for _ in range(WARM_UP):
                await sharer.share()
            stream = [await sharer.share() for _ in range(STREAM)]
            firsts, seconds = [], []
            for _ in range(spells):
                await quiet(gap, spin=spin)
                firsts.append(await sharer.share())
                seconds.append(await sharer.share())
        finally:
            await database.dispose()
    how = "spun" if spin else "slept"
    print(f"share unit in a stream: median {statistics.median(stream):.2f} ms")
    print(f"after {gap:g} s of quiet ({how}), first: {_listed(firsts)}")
    print(f"                          second: {_listed(seconds)}")


def _listed(values: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values) + " ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gap", type=float, default=1.0, help="seconds of quiet")
    parser.add_argument("--spells", type=int, default=8)
    parser.add_argument("--spin", action="store_true", help="spin through the quiet")
    args = parser.parse_args()
    asyncio.run(measure(args.gap, args.spells, args.spin))


if __name__ == "__main__":
    main()
