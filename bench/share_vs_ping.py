"""`/share` against a bare `/ping`, through the emulator, in the same run.

Both commands go through the real bot over real HTTP and websockets. For each, N interactions
are sent with C in flight at a time; latency runs from INTERACTION_CREATE to the answer the
member finally sees (for /share: the edited deferred answer, after the card was posted).

Discord's per-channel and global REST limits are relaxed by default so the figures measure the
bot, not the rate limiter; `--discord-limits` keeps them (5 messages per 5 s per channel, so
/share then measures mostly the waiting). The emulator, the bot and this driver share one
process and one event loop: their CPU costs add up, as on a 2-core machine hosting all three.

    python -m bench.share_vs_ping [--n 500] [--concurrency 20] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import discord

from bench._harness import Result, coach_on, drive
from emulator import DiscordEmulator
from emulator.ratelimits import RouteLimit

DEFERRED = 5
RELAXED_LIMITS = {
    "POST /channels/{channel_id}/messages": RouteLimit(100_000, 1.0),
    "POST /interactions/{interaction_id}/{interaction_token}/callback": RouteLimit(100, 1.0),
    "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}": RouteLimit(100, 1.0),
}


async def run(n: int, concurrency: int, database_url: str | None, discord_limits: bool) -> None:
    emulator = DiscordEmulator(
        route_limits=None if discord_limits else RELAXED_LIMITS,
        global_rate_limit=50 if discord_limits else 100_000,
    )
    async with emulator:
        app = emulator.create_application(name="PLN Coach")
        owner = emulator.create_user("owner")
        guild = emulator.create_guild("Bench Educators", owner_id=owner.id)
        bot_role = emulator.create_role(
            guild.id,
            "PLN Coach",
            permissions=discord.Permissions(
                view_channel=True, send_messages=True, embed_links=True
            ).value,
        )
        emulator.add_member(guild.id, app.bot_user.id, roles=(bot_role.id,))
        channels = [emulator.create_text_channel(guild.id, f"room-{i}").id for i in range(20)]
        members = [emulator.create_user(f"teacher{i}").id for i in range(50)]
        for member in members:
            emulator.add_member(guild.id, member)

        with tempfile.TemporaryDirectory() as folder:
            url = database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
            async with coach_on(emulator, app, url):

                async def ping(index: int) -> None:
                    ix = await emulator.run_slash_command(
                        guild.id, channels[index % len(channels)], members[index % 50], "ping", {}
                    )
                    await ix.wait_response(timeout=10)

                stamp = time.time_ns()
                share_acks: list[float] = []

                async def share(index: int) -> None:
                    started = time.perf_counter()
                    ix = await emulator.run_slash_command(
                        guild.id,
                        channels[index % len(channels)],
                        members[index % len(members)],
                        "share",
                        {
                            "url": f"https://example.org/{stamp}/{index}",
                            "title": f"Resource {index}",
                            "tags": "math, 7th-grade",
                        },
                    )
                    response = await ix.wait_response(timeout=10)
                    share_acks.append(time.perf_counter() - started)
                    if response.type == DEFERRED:
                        await ix.wait_original_edit(timeout=10)

                await drive("warm-up", 20, 5, ping)
                await drive("warm-up", 20, 5, share)
                share_acks.clear()
                ping_result = await drive("/ping", n, concurrency, ping)
                share_result = await drive("/share", n, concurrency, share)

    backend = (database_url or "sqlite").split(":")[0]
    limits = "Discord's" if discord_limits else "relaxed"
    print(f"{n} interactions each, {concurrency} in flight, {backend}, {limits} REST limits")
    print(ping_result.line())
    print(share_result.line())
    acks = Result("", share_acks, 1, 0)
    print(
        f"/share first response (deferral, the 3 s rule): p50 {acks.percentile(0.5):.1f} ms, "
        f"p99 {acks.percentile(0.99):.1f} ms, max {max(share_acks) * 1000:.1f} ms"
    )
    print(
        f"/share vs /ping: throughput x{share_result.throughput / ping_result.throughput:.2f}, "
        f"p50 x{share_result.percentile(0.5) / ping_result.percentile(0.5):.2f}, "
        f"p99 x{share_result.percentile(0.99) / ping_result.percentile(0.99):.2f}"
    )
    print(f"429s seen by the bot: {sum(r.status == 429 for r in emulator.requests)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--discord-limits", action="store_true")
    args = parser.parse_args()
    asyncio.run(run(args.n, args.concurrency, args.database_url, args.discord_limits))


if __name__ == "__main__":
    main()
