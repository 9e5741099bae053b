"""`make bench-writes`: what one /share and one Useful mark cost the database, without Discord.

``SharingService`` driven directly, 8 writes at a time (as commands in flight would), on a fresh
SQLite file and, with ``--database-url``, on PostgreSQL too (that database's tables are made
by migrating it: give it an empty one). Per write: statements sent (each one a round trip on
PostgreSQL), writes per second, this process's CPU and, on PostgreSQL, the server's CPU (all
its processes, as ``make bench``'s ``db`` column). It isolates the write path from discord.py
and the emulator, whose costs dominate ``make bench``.

    python -m bench.write_path [--n 2000] [--database-url postgresql+asyncpg://…/bench]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.hot_commands import database_server_cpu, database_server_cpu_since
from bot.db import Database
from bot.db.migrate import upgrade
from bot.services.answers import AnswerTicket
from bot.services.members import Actor
from bot.services.share_input import parse_share
from bot.services.sharing import SharingService

IN_FLIGHT = 8
SERVER = 1001
GENERAL = 5001


def _ticket() -> AnswerTicket:
    now = datetime.now(UTC)
    return AnswerTicket(
        application_id=1,
        token="bench-token",
        channel_id=GENERAL,
        owner="bench/run1",
        expires_at=now.replace(year=now.year + 1),
    )


def _actor(user_id: int) -> Actor:
    return Actor(SERVER, "Bench Educators", user_id, f"Teacher {user_id}")


async def _measure(
    database: Database, label: str, n: int, one: Callable[[int], Awaitable[Any]]
) -> None:
    statements = 0

    def counted(*_: Any) -> None:
        nonlocal statements
        statements += 1

    server_before = None if database.is_sqlite else database_server_cpu()
    event.listen(database.engine.sync_engine, "before_cursor_execute", counted)
    started, cpu = time.perf_counter(), os.times()
    try:
        for first in range(0, n, IN_FLIGHT):
            await asyncio.gather(*(one(i) for i in range(first, min(n, first + IN_FLIGHT))))
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", counted)
    wall, after = time.perf_counter() - started, os.times()
    client = (after.user - cpu.user) + (after.system - cpu.system)
    server = (
        "—"
        if server_before is None
        else f"{database_server_cpu_since(server_before) / n * 1000:.2f}"
    )
    print(
        f"  {label:<14}{statements / n:11.1f}{n / wall:11.0f}{client / n * 1000:12.2f}{server:>12}"
    )


async def _run_on(url: str, n: int, name: str) -> None:
    database = Database(url)
    try:
        await upgrade(database)
        sharing = SharingService(database)
        # The server's row, and a member who shares: the usual case from then on.
        await sharing.share(
            _actor(1), GENERAL, parse_share("https://example.org/first"), answer=_ticket()
        )
        columns = f"{'statements':>17}{'writes/s':>11}{'bot CPU ms':>12}{'db CPU ms':>12}"
        print(f"{name}: per write{columns}")

        async def share(i: int) -> Any:
            link = parse_share(f"https://example.org/{name}/{i}", tags="math, k-5")
            return await sharing.share(_actor(1 + i % 50), GENERAL, link, answer=_ticket())

        await _measure(database, "new share", n, share)
        cards = [
            (
                await sharing.share(
                    _actor(1), GENERAL, parse_share(f"https://example.org/c{i}"), answer=_ticket()
                )
            ).resource.id
            for i in range(n // 40 + 1)
        ]

        async def mark(i: int) -> Any:
            # Card i % len(cards) by member 100 + i // len(cards): every press is a new mark.
            card = cards[i % len(cards)]
            return await sharing.mark_useful(_actor(100 + i // len(cards)), card, answer=_ticket())

        await _measure(database, "Useful mark", n, mark)
    finally:
        await database.dispose()


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        await _run_on(f"sqlite+aiosqlite:///{Path(folder) / 'writes.sqlite3'}", args.n, "SQLite")
    if args.database_url:
        await _run_on(args.database_url, args.n, "PostgreSQL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="writes of each kind")
    parser.add_argument("--database-url", help="also PostgreSQL (an empty database)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
