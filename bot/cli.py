"""`pln-coach`: run the bot (or the offline sandbox), migrate the database, sync commands."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

import discord

from bot.app import PLNCoachBot
from bot.config import ConfigError, Settings, load_settings
from bot.db import Database
from bot.db.migrate import downgrade, upgrade

log = logging.getLogger("pln_coach")

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pln-coach", description="PLN Coach, a Discord bot for educators' learning networks."
    )
    parser.add_argument(
        "--config", type=Path, help="TOML settings file (default: ./config.toml when present)"
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser(
        "run", help="connect to Discord; with no token, start the offline sandbox (default)"
    )
    commands.add_parser("sandbox", help="start the offline sandbox even when a token is set")
    commands.add_parser("sync", help="register the slash commands with Discord now, then exit")
    db = commands.add_parser("db", help="database migrations")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    up = db_commands.add_parser("upgrade", help="migrate to the newest schema (default: head)")
    up.add_argument("revision", nargs="?", default="head")
    down = db_commands.add_parser("downgrade", help="migrate back to an older revision")
    down.add_argument("revision")
    return parser


def configure_logging(level: str) -> None:
    discord.utils.setup_logging(level=getattr(logging, level), root=True)


async def _migrate(settings: Settings, action: str, revision: str) -> None:
    database = Database(settings.database.url)
    try:
        await (upgrade if action == "upgrade" else downgrade)(database, revision)
    finally:
        await database.dispose()
    print(f"Database at {revision} ({action}).")  # noqa: T201


async def _run_bot(settings: Settings, token: str, *, sync_only: bool) -> None:
    bot = PLNCoachBot(settings, force_command_sync=sync_only)
    async with bot:
        if sync_only:
            await bot.login(token)  # login runs setup_hook, which syncs
        else:
            await bot.start(token)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as error:
        for problem in error.problems:
            print(f"pln-coach: config error: {problem}", file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    configure_logging(settings.logging.level)
    command = args.command or "run"
    token = settings.discord.token
    try:
        if command == "db":
            asyncio.run(_migrate(settings, args.db_command, args.revision))
        elif command == "sandbox" or (command == "run" and token is None):
            from bot.sandbox import run_sandbox

            asyncio.run(run_sandbox(settings))
        elif token is None:
            print(  # noqa: T201
                "pln-coach: config error: discord.token: needed for `sync` "
                "(set DISCORD_TOKEN or PLN_DISCORD__TOKEN)",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        else:
            asyncio.run(_run_bot(settings, token.get_secret_value(), sync_only=command == "sync"))
    except discord.LoginFailure:
        print(  # noqa: T201
            "pln-coach: Discord rejected the token. Copy it again from the Developer Portal "
            "(Bot > Reset Token) into config.toml or DISCORD_TOKEN.",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
