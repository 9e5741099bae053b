"""A bare discord.py bot: PLN Coach's intents and client settings, handlers that only count.

The baseline of the gateway benchmarks: whatever PLN Coach costs beyond this is its own work.
It parses every event the way any discord.py bot does (messages, edits, reactions, threads,
deletions) and counts them; every 0.1 s it prints ``{"t": <time.monotonic()>, "events": n}``
on stdout (the clock other processes on the machine share) while the count changes. With
``--commands`` it also has bare versions of PLN Coach's hot commands (``bench._bare_commands``),
synced (globally) before it connects.

    python -m bench._bare_bot --token T --api-base-url URL --gateway-url URL [--commands]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import discord

from bench._bare_commands import BareCommands
from bot.app import bot_intents
from bot.discord_endpoints import apply_discord_endpoints

REPORT_EVERY = 0.1


class BareBot(discord.Client):
    def __init__(self, *, with_commands: bool = False) -> None:
        super().__init__(
            intents=bot_intents(),
            chunk_guilds_at_startup=False,
            max_ratelimit_timeout=30.0,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.events = 0
        self.commands = BareCommands(self) if with_commands else None

    async def setup_hook(self) -> None:
        if self.commands is not None:
            await self.commands.tree.sync()
        self.loop.create_task(self._report())

    async def _count(self, *_: Any) -> None:
        self.events += 1

    on_message = on_raw_message_edit = on_raw_message_delete = on_raw_bulk_message_delete = _count
    on_raw_reaction_add = on_raw_reaction_remove = on_thread_create = _count

    async def on_ready(self) -> None:
        print(json.dumps({"t": time.monotonic(), "ready": True}), flush=True)

    async def _report(self) -> None:
        last = -1
        while True:
            if self.events != last:
                last = self.events
                print(json.dumps({"t": time.monotonic(), "events": last}), flush=True)
            await asyncio.sleep(REPORT_EVERY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--token", required=True)
    parser.add_argument("--api-base-url", required=True)
    parser.add_argument("--gateway-url", required=True)
    parser.add_argument("--commands", action="store_true", help="PLN Coach's hot commands, bare")
    args = parser.parse_args()
    apply_discord_endpoints(args.api_base_url, args.gateway_url)
    BareBot(with_commands=args.commands).run(args.token, log_handler=None)


if __name__ == "__main__":
    main()
