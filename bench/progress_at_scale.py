"""`/progress` on a large database: latency through the emulator, and the query plans behind it.

Fills a database with one busy server (default: 20,000 members, 1,000,000 ledger events and
200,000 shared resources), then asks `/progress` for random members through the real bot and
the emulator. The answer must come well within Discord's 3 s; it stays flat as the database
grows because every query is an index search on the member's own rows (plans printed below).

    python -m bench.progress_at_scale [--members 20000] [--events 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
from sqlalchemy import delete, event, insert

from bench._harness import Result, coach_on, drive
from bot.db import ActivityEvent, Base, Database, Member, Resource, Server
from bot.db.migrate import upgrade
from bot.services.progress import ProgressService
from emulator import DiscordEmulator

BATCH = 20_000


async def fill(database: Database, server_id: int, members: list[int], events: int) -> None:
    """One big server; every fifth event is a share with its resource, the rest other kinds."""
    now = datetime.now(UTC)
    rng = random.Random(7)
    async with database.write() as session:
        for model in (ActivityEvent, Resource, Member, Server):
            await session.execute(delete(model))
        await session.execute(insert(Server), [{"id": server_id, "name": "Big Educators"}])
        await session.execute(
            insert(Member),
            [{"server_id": server_id, "user_id": m, "display_name": f"T{m}"} for m in members],
        )
    resource_id = 0
    for start in range(0, events, BATCH):
        resources: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        for index in range(start, min(start + BATCH, events)):
            member = rng.choice(members)
            when = now - timedelta(minutes=rng.randrange(0, 60 * 24 * 365))
            row: dict[str, Any] = {
                "server_id": server_id,
                "member_id": member,
                "occurred_at": when,
                "dedupe_key": f"bench:{index}",
                "habit": None,
                "resource_id": None,
            }
            if index % 5 == 0:
                resource_id += 1
                resources.append(
                    {
                        "id": resource_id,
                        "server_id": server_id,
                        "shared_by": member,
                        "url": f"https://example.org/{resource_id}",
                        "url_hash": f"{resource_id:064x}",
                        "channel_id": 1,
                        "created_at": when,
                    }
                )
                row.update(kind="share", habit="contribute", resource_id=resource_id)
            elif index % 5 == 1 and resource_id:
                row.update(kind="marked_useful", resource_id=rng.randint(1, resource_id))
            else:
                row.update(kind="reply", habit="connect")
            rows.append(row)
        async with database.write() as session:
            if resources:
                await session.execute(insert(Base.metadata.tables["resources"]), resources)
            await session.execute(insert(Base.metadata.tables["activity_events"]), rows)


async def explain(database: Database, server_id: int, member: int) -> list[str]:
    """The plans of the statements one /progress sends, from the database's own planner."""
    statements: list[tuple[str, Any]] = []

    def remember(_c: Any, _k: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", remember)
    await ProgressService(database).progress(server_id, member)
    event.remove(database.engine.sync_engine, "before_cursor_execute", remember)
    prefix = "EXPLAIN QUERY PLAN " if database.is_sqlite else "EXPLAIN "
    lines: list[str] = []
    async with database.engine.connect() as connection:
        for statement, parameters in statements:
            plan = await connection.exec_driver_sql(prefix + statement, parameters)
            lines.append(" ".join(statement.split())[:110])
            lines.extend("    " + str(row[-1]) for row in plan)
    return lines


async def run(members_count: int, events: int, n: int, database_url: str | None) -> None:
    async with DiscordEmulator() as emulator:
        app = emulator.create_application(name="PLN Coach")
        owner = emulator.create_user("owner")
        guild = emulator.create_guild("Big Educators", owner_id=owner.id)
        role = emulator.create_role(
            guild.id, "PLN Coach", permissions=discord.Permissions(view_channel=True).value
        )
        emulator.add_member(guild.id, app.bot_user.id, roles=(role.id,))
        channel = emulator.create_text_channel(guild.id, "general").id
        askers = [emulator.create_user(f"t{i}").id for i in range(200)]
        for user in askers:
            emulator.add_member(guild.id, user)
        members = askers + list(range(10_000, 10_000 + members_count - len(askers)))

        with tempfile.TemporaryDirectory() as folder:
            url = database_url or f"sqlite+aiosqlite:///{Path(folder) / 'scale.sqlite3'}"
            database = Database(url)
            await upgrade(database)
            started = time.perf_counter()
            await fill(database, guild.id, members, events)
            filled = time.perf_counter() - started
            plans = await explain(database, guild.id, askers[0])
            await database.dispose()

            async with coach_on(emulator, app, url):

                async def progress(index: int) -> None:
                    ix = await emulator.run_slash_command(
                        guild.id, channel, askers[index % len(askers)], "progress", {}
                    )
                    response = await ix.wait_response(timeout=10)
                    assert response.type == 4, response

                await drive("warm-up", 20, 5, progress)
                result: Result = await drive("/progress", n, 10, progress)

    backend = (database_url or "sqlite").split(":")[0]
    print(
        f"{backend}: {members_count:,} members, {events:,} events "
        f"({events // 5:,} resources), filled in {filled:.0f} s"
    )
    print(result.line())
    print("Query plans for one /progress:")
    print("\n".join(plans))


def main() -> None:
    parser = argparse.ArgumentParser(description="/progress latency on a large database")
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()
    asyncio.run(run(args.members, args.events, args.n, args.database_url))


if __name__ == "__main__":
    main()
