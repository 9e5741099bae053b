"""`/progress` and `/connect suggest` in a big server: latency at two ledger sizes, and why.

Fills one educators' server (default: 100,000 members, about 30% introduced, a year of
activity with hubs and newcomers; see ``bench/_scale_fill.py``) once with 10,000 and once with
1,000,000 ledger events, then asks both commands for the members who really use them: ordinary
active members, hubs (the members with the most ties) and newcomers. Each command is timed
twice per size: end to end (the real bot through the emulator: the deferred answer, the
services, the card image for /progress, the members looked up for /connect suggest) and the
service calls alone (``ProgressService.progress`` + ``CoachService.next_action_for``;
``SuggestionService.suggest(count=6)``), one request at a time: end to end at a steady 5
commands a second (back to back, the six member look-ups of each /connect suggest would run
into Discord's rate limit of 50 a second and measure that instead), the service calls back
to back. It prints p50/p99 per command
and size, p99 per kind of member, the 1M/10k ratio of p99, and the query plans of both commands
for the busiest hub at the largest size.

    python -m bench.progress_at_scale [--members 100000] [--events 10000,1000000]
        [--n 400] [--rate 5] [--concurrency 1] [--database-url postgresql+asyncpg://...]

The target (the issue): p99 under 50 ms on SQLite and PostgreSQL, and p99 at 1M events at most
1.5x that at 10k. With ``--database-url`` the database is emptied and refilled: give it one of
its own (e.g. ``bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord
from sqlalchemy import event

from bench._harness import Result, coach_on, drive
from bench._scale_fill import Generated, generate, load
from bot.db import Database, utcnow
from bot.db.migrate import upgrade
from bot.wiring import build_services
from emulator import DiscordEmulator

GROUPS = (("ordinary", 60), ("hub", 20), ("newcomer", 20))
SUGGEST_COUNT = 6  # what /connect suggest asks for
DEFERRED = 5


@dataclass
class Measured:
    """One command at one size: end to end and the service alone, per kind of member."""

    e2e: Result
    service: Result
    service_by_group: dict[str, list[float]] = field(default_factory=dict)


def pick_askers(generated: Generated, rng: random.Random) -> list[tuple[str, int]]:
    """Who runs the commands: active ordinary members, the biggest hubs, and newcomers."""
    present = [m for m in generated.last_seen if m not in generated.left]
    active_since = generated.now - timedelta(days=90)
    hubs = sorted(present, key=lambda m: -generated.degree.get(m, 0))[: GROUPS[1][1]]
    newcomers = [m for m in generated.newcomers if m not in generated.left][: GROUPS[2][1]]
    taken = set(hubs) | set(newcomers)
    ordinary = [m for m in present if m not in taken and generated.last_seen[m] > active_since]
    chosen = {
        "ordinary": rng.sample(ordinary, GROUPS[0][1]),
        "hub": hubs,
        "newcomer": newcomers,
    }
    # Interleaved, so every group is asked throughout the run.
    askers: list[tuple[str, int]] = []
    for index in range(max(len(v) for v in chosen.values())):
        for group, members in chosen.items():
            if index < len(members):
                askers.append((group, members[index]))
    return askers


async def time_services(
    database: Database, server_id: int, askers: list[tuple[str, int]], n: int
) -> dict[str, Measured]:
    """Each command's service calls alone, one at a time."""
    services = build_services(database)

    async def progress(user_id: int) -> None:
        found = await services.progress.progress(server_id, user_id)
        await services.coach.next_action_for(found)

    async def suggest(user_id: int) -> None:
        await services.suggestions.suggest(server_id, user_id, count=SUGGEST_COUNT)

    measured: dict[str, Measured] = {}
    calls: dict[str, Callable[[int], Awaitable[None]]] = {
        "/progress": progress,
        "/connect suggest": suggest,
    }
    for name, call in calls.items():
        by_group: dict[str, list[float]] = {group: [] for group, _ in GROUPS}

        async def one(
            index: int,
            call: Callable[[int], Awaitable[None]] = call,
            by_group: dict[str, list[float]] = by_group,
        ) -> None:
            group, user_id = askers[index % len(askers)]
            started = time.perf_counter()
            await call(user_id)
            by_group[group].append(time.perf_counter() - started)

        await drive("warm-up", len(askers), 1, one)
        for values in by_group.values():
            values.clear()
        result = await drive(name, n, 1, one)
        measured[name] = Measured(result, result, by_group)
    return measured


async def explain(database: Database, server_id: int, user_id: int) -> list[str]:
    """The plans of the statements both commands send for ``user_id``, from the planner."""
    services = build_services(database)
    statements: list[tuple[str, Any]] = []

    def remember(_c: Any, _k: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", remember)
    found = await services.progress.progress(server_id, user_id)
    await services.coach.next_action_for(found)
    await services.suggestions.suggest(server_id, user_id, count=SUGGEST_COUNT)
    event.remove(database.engine.sync_engine, "before_cursor_execute", remember)
    prefix = "EXPLAIN QUERY PLAN " if database.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
    lines: list[str] = []
    async with database.engine.connect() as connection:
        for statement, parameters in statements:
            plan = await connection.exec_driver_sql(prefix + statement, parameters)
            lines.append(" ".join(statement.split())[:150])
            lines.extend("    " + str(row[-1]) for row in plan)
    return lines


def ms(seconds: float) -> float:
    return seconds * 1000


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ms(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]) if ordered else 0.0


async def run(
    members_count: int,
    sizes: list[int],
    n: int,
    concurrency: int,
    pace: float,
    database_url: str | None,
) -> None:
    backend = (database_url or "sqlite").split(":")[0].split("+")[0]
    results: dict[int, dict[str, Measured]] = {}
    notes: list[str] = []
    plans: list[str] = []
    async with DiscordEmulator() as emulator:
        app = emulator.create_application(name="PLN Coach")
        owner = emulator.create_user("owner")
        guild = emulator.create_guild("Big Educators", owner_id=owner.id)
        role = emulator.create_role(
            guild.id, "PLN Coach", permissions=discord.Permissions(view_channel=True).value
        )
        emulator.add_member(guild.id, app.bot_user.id, roles=(role.id,))
        channel = emulator.create_text_channel(guild.id, "general").id
        # Every member is a Discord user; those who left are no longer in the server.
        member_ids = [emulator.create_user(f"t{i}").id for i in range(members_count)]
        joined = False

        with tempfile.TemporaryDirectory() as folder:
            for size in sizes:
                started = time.perf_counter()
                generated = generate(guild.id, member_ids, size, utcnow())
                made = time.perf_counter() - started
                if not joined:
                    for member in member_ids:
                        if member not in generated.left:
                            emulator.add_member(guild.id, member)
                    joined = True
                url = database_url or f"sqlite+aiosqlite:///{Path(folder) / f'scale{size}.sqlite3'}"
                database = Database(url, statement_timeout=None)
                await upgrade(database)
                started = time.perf_counter()
                await load(database, generated)
                loaded = time.perf_counter() - started
                rows = {table: len(values) for table, values in generated.rows.items()}
                degrees = sorted(generated.degree.values())
                notes.append(
                    f"{size:,} events: generated in {made:.0f} s, loaded in {loaded:.0f} s; "
                    f"{rows['members']:,} members ({len(generated.left):,} left, "
                    f"{len(generated.newcomers):,} newcomers), {rows['introductions']:,} intros, "
                    f"{rows['member_interests']:,} interests, {rows['resources']:,} resources, "
                    f"{rows['ties']:,} ties (most {degrees[-1] if degrees else 0:,}, median "
                    f"{statistics.median(degrees) if degrees else 0:.0f}), "
                    f"{rows['conversation_weeks']:,} conversation weeks"
                )
                askers = pick_askers(generated, random.Random(size))
                # Millions of generated rows (and the emulator's 100,000 users) are the
                # benchmark's, not the bot's: without this, the collector's full passes over
                # them pause the bot for tens of milliseconds and set every p99.
                del generated
                gc.collect()
                gc.freeze()
                measured = await time_services(database, guild.id, askers, n)
                if size == sizes[-1]:
                    hub = next(user for group, user in askers if group == "hub")
                    plans = await explain(database, guild.id, hub)
                await database.dispose()

                async with coach_on(emulator, app, url):
                    for name, command in (
                        ("/progress", "progress"),
                        ("/connect suggest", "connect suggest"),
                    ):

                        async def one(
                            index: int,
                            command: str = command,
                            askers: list[tuple[str, int]] = askers,
                        ) -> None:
                            _, user_id = askers[index % len(askers)]
                            ix = await emulator.run_slash_command(
                                guild.id, channel, user_id, command, {}
                            )
                            response = await ix.wait_response(timeout=10)
                            if response.type == DEFERRED:
                                await ix.wait_original_edit(timeout=10)

                        await drive("warm-up", len(askers), concurrency, one, pace=pace)
                        measured[name].e2e = await drive(name, n, concurrency, one, pace=pace)
                results[size] = measured

    flight = "one at a time" if concurrency == 1 else f"{concurrency} in flight"
    print(
        f"{backend}: {members_count:,} members in one server; end to end: {1 / pace:.0f} "
        f"commands/s, {flight}; service calls alone: back to back (times in ms)"
    )
    for note in notes:
        print("  " + note)
    # Tail latencies mean little on a machine busy with other work: say how busy it was.
    print(
        "  load average at the end (1, 5, 15 min): "
        + ", ".join(f"{v:.1f}" for v in os.getloadavg())
    )
    header = f"{'command':<17} {'events':>10} " + " ".join(
        f"{label:>8}" for label in ("e2e p50", "e2e p99", "svc p50", "svc p99")
    )
    print(header + "   service p99 by member: " + " / ".join(g for g, _ in GROUPS))
    for name in ("/progress", "/connect suggest"):
        for size in sizes:
            m = results[size][name]
            groups = " / ".join(f"{p99(m.service_by_group[g]):.1f}" for g, _ in GROUPS)
            failures = m.e2e.failures + m.service.failures
            print(
                f"{name:<17} {size:>10,} {m.e2e.percentile(0.5):8.1f} {m.e2e.percentile(0.99):8.1f}"
                f" {m.service.percentile(0.5):8.1f} {m.service.percentile(0.99):8.1f}   {groups}"
                + (f"   FAILURES {failures}" if failures else "")
            )
        if len(sizes) > 1:
            small, large = results[sizes[0]][name], results[sizes[-1]][name]
            print(
                f"{name:<17} {'ratio':>10} {'':>8} "
                f"{large.e2e.percentile(0.99) / small.e2e.percentile(0.99):7.2f}x {'':>8} "
                f"{large.service.percentile(0.99) / small.service.percentile(0.99):7.2f}x"
                f"   (p99 at {sizes[-1]:,} / p99 at {sizes[0]:,})"
            )
    print(f"Query plans for both commands, for the busiest hub at {sizes[-1]:,} events:")
    print("\n".join(plans))


def main() -> None:
    parser = argparse.ArgumentParser(description="/progress and /connect suggest at scale")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument(
        "--events",
        default="10000,1000000",
        help="ledger sizes, comma-separated (default: 10000,1000000)",
    )
    parser.add_argument("--n", type=int, default=400, help="requests per command and size")
    parser.add_argument("--concurrency", type=int, default=1, help="end-to-end requests in flight")
    parser.add_argument(
        "--rate",
        type=float,
        default=5.0,
        help="end-to-end commands started per second (default 5: /connect suggest looks up "
        "6 members each time, and Discord allows 50 member look-ups per second)",
    )
    parser.add_argument("--database-url", help="default: temporary SQLite files")
    args = parser.parse_args()
    sizes = [int(size.replace("_", "")) for size in args.events.split(",")]
    asyncio.run(
        run(args.members, sizes, args.n, args.concurrency, 1 / args.rate, args.database_url)
    )


if __name__ == "__main__":
    main()
