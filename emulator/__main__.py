"""Run the emulator as its own process: ``python -m emulator [--port N] [--control-port N]``.

Benchmarks need the emulator's CPU apart from the bots they measure, and a bot run as
``pln-coach run`` needs a Discord outside its process. Once listening, the process prints one
JSON line on stdout with its URLs (``api_base_url``, ``gateway_url``, ``control_url``; ports 0
pick free ones), then serves until SIGINT, SIGTERM or ``POST /shutdown`` on the control API
(``emulator.control``), which builds the world and feeds event streams.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys

from aiohttp import web

from .control import build_control_app
from .emulator import DiscordEmulator
from .ratelimits import RouteLimit

# Discord's per-route limits, lifted for load tests of the bot rather than of the rate limiter:
# posting, answering interactions, opening threads and looking members up.
_RELAXED_ROUTES = {
    "POST /channels/{channel_id}/messages": RouteLimit(100_000, 1.0),
    "POST /channels/{channel_id}/messages/{message_id}/threads": RouteLimit(100_000, 1.0),
    "GET /guilds/{guild_id}/members/{user_id}": RouteLimit(100_000, 1.0),
    "POST /interactions/{interaction_id}/{interaction_token}/callback": RouteLimit(100_000, 1.0),
    "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}": RouteLimit(100_000, 1.0),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="REST and gateway (0: any free)")
    parser.add_argument("--control-port", type=int, default=0, help="control API (0: any free)")
    parser.add_argument(
        "--global-rate-limit", type=int, default=50, help="REST requests/s per bot (Discord: 50)"
    )
    parser.add_argument(
        "--relaxed-limits",
        action="store_true",
        help="lift the per-route limits on posting, answers, threads and member lookups",
    )
    parser.add_argument(
        "--heartbeat-interval-ms",
        type=int,
        default=41250,
        help="HELLO's interval; short ones let feeds see what clients have read",
    )
    parser.add_argument("--log-level", default="WARNING")
    return parser


async def serve(args: argparse.Namespace) -> None:
    emu = DiscordEmulator(
        global_rate_limit=args.global_rate_limit,
        route_limits=_RELAXED_ROUTES if args.relaxed_limits else None,
        heartbeat_interval_ms=args.heartbeat_interval_ms,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await emu.start(args.host, args.port)
    control = web.AppRunner(build_control_app(emu, stop), access_log=None, handle_signals=False)
    await control.setup()
    await web.TCPSite(control, args.host, args.control_port).start()
    try:
        control_port = int(control.addresses[0][1])
        ready = {
            "api_base_url": emu.api_base_url,
            "gateway_url": emu.gateway_url,
            "control_url": f"http://{args.host}:{control_port}",
            "pid": os.getpid(),
        }
        print(json.dumps(ready), flush=True)  # noqa: T201 - the parent process reads it
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await control.cleanup()
        await emu.stop()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s %(message)s"
    )
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
