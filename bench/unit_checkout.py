"""What taking and giving back a pooled connection costs a unit of work, without statements.

``Database.read_rows()`` takes an idle pooled connection directly when nothing in taking it
awaits (SQLite always; PostgreSQL outside a transaction: ``bot.db.postgres_pool``), against
SQLAlchemy's async engine doing the same (``engine.connect()``), in this process, one unit at a
time. Prints the CPU per unit of each and their ratio.

    python -m bench.unit_checkout [--n 5000] [--database-url postgresql+asyncpg://…/bench]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.service_cpu import cpu_per_call
from bot.db import Database


async def _cpu_per_unit(unit: Callable[[], Awaitable[None]], n: int) -> float:
    """Microseconds of this process's CPU per unit, the best of three rounds."""

    async def call(_member: int) -> None:
        await unit()

    ours, _ = await cpu_per_call(call, n, on_postgres=False)
    return ours


async def measure(url: str, n: int) -> None:
    database = Database(url)
    async_engine = database.engine.execution_options(isolation_level="AUTOCOMMIT")
    if database.is_sqlite:
        async_engine = database.engine

    async def direct() -> None:
        async with database.read_rows():
            pass

    async def through_async_engine() -> None:
        async with async_engine.connect():
            pass

    try:
        await direct()  # the pool's first connection, opened once
        ours = await _cpu_per_unit(direct, n)
        theirs = await _cpu_per_unit(through_async_engine, n)
    finally:
        await database.dispose()
    backend = "SQLite" if database.is_sqlite else "PostgreSQL"
    print(
        f"{backend:10} empty read_rows(): {ours:6.1f} µs CPU per unit; "
        f"through the async engine: {theirs:6.1f} µs ({ours / theirs:.2f}×)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="units per round")
    parser.add_argument("--database-url", help="also PostgreSQL (any database will do)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'units.sqlite3'}"
        asyncio.run(measure(url, args.n))
    if args.database_url:
        asyncio.run(measure(args.database_url, args.n))


if __name__ == "__main__":
    main()
