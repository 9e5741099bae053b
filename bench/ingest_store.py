"""How fast the batched ingest stores passive signals: a real community's history, replayed.

The reply structure of r/AskAcademia (../shared/data/askacademia-interactions.csv.gz) becomes
signals as the tracking cog would make them: each thread a Discord thread started by its
author, each comment a message in it (a reply when it answers a comment), and a reaction from
the thread's author on each top-level answer. They are offered to the real ``PassiveIngest`` as
fast as it takes them (its buffer pushes back when full) and stored in its one-transaction
batches. This measures the storing side only (ledger, members, ties, conversation weeks); the
gateway side (discord.py parsing the events) is for the end-to-end benchmark.

    python -m bench.ingest_store [--limit 120000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import func, select

from bench._askacademia import Thread, community
from bot.db import ActivityEvent, ConversationWeek, Database, Tie
from bot.db.migrate import upgrade
from bot.services.ingest import PassiveIngest
from bot.services.signals import Author, MessageSeen, ReactionAdded, Signal, ThreadCreated

SERVER = 1


def _ids() -> Iterator[int]:
    n = 10_000
    while True:
        n += 1
        yield n


def community_signals(limit: int) -> list[Signal]:
    """The data set as signals, oldest first (deleted accounts are skipped, as bots are)."""
    ids = _ids()
    people: dict[str, int] = {}
    threads: dict[str, tuple[int, int]] = {}  # data thread id -> (channel id, owner id)

    def person(name: str) -> Author:
        if name not in people:
            people[name] = next(ids)
        return Author(people[name], name[:32])

    signals: list[Signal] = []
    for post in community():
        author = person(post.author)
        at = datetime.fromtimestamp(post.at, UTC)
        if isinstance(post, Thread):
            channel = next(ids)
            threads[post.key] = (channel, author.user_id)
            signals.append(ThreadCreated(SERVER, "AskAcademia", channel, author, at))
            continue
        channel, owner = threads[post.thread]
        message_id = next(ids)
        reply_to = person(post.parent_author).user_id if post.parent_author else None
        signals.append(
            MessageSeen(
                SERVER,
                "AskAcademia",
                channel,
                message_id,
                author,
                at,
                reply_to=reply_to if not post.top_level else None,
                in_thread=True,
                thread_owner_id=owner,
            )
        )
        if post.top_level and owner != author.user_id:
            reactor = Author(owner, "owner")
            signals.append(
                ReactionAdded(
                    SERVER, "AskAcademia", channel, message_id, reactor, author.user_id, "👍", at
                )
            )
        if len(signals) >= limit:
            break
    return signals


async def run(limit: int, database_url: str | None) -> None:
    signals = community_signals(limit)
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite+aiosqlite:///{folder}/ingest.sqlite3"
        database = Database(url, statement_timeout=None)
        try:
            await upgrade(database)
            ingest = PassiveIngest(database)
            ingest.start()
            started = time.perf_counter()
            peak = 0
            for signal in signals:
                await ingest.offer(signal)
                peak = max(peak, ingest.backlog)
            offered = time.perf_counter() - started
            await ingest.stop()
            wall = time.perf_counter() - started
            async with database.read() as session:
                counts = [
                    await session.scalar(select(func.count()).select_from(model))
                    for model in (ActivityEvent, Tie, ConversationWeek)
                ]
        finally:
            await database.dispose()
    backend = "sqlite" if url.startswith("sqlite") else "postgresql"
    print(
        f"{len(signals):,} signals on {backend}: {len(signals) / wall:,.0f} stored/s "
        f"({wall:.1f} s; all offered after {offered:.1f} s; peak backlog {peak:,}); "
        f"ledger {counts[0]:,} events, {counts[1]:,} ties, {counts[2]:,} conversation weeks"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=120_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    asyncio.run(run(args.limit, args.database_url))


if __name__ == "__main__":
    main()
