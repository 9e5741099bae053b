"""`pln-coach`: run the bot (or the offline sandbox), migrate the database, sync commands,
delete a server's data.

Start-up goes in steps: settings, then the database (connected and migrated before Discord is
contacted, so a database mistake is reported without spending a login), then Discord. A problem
in any step is one line on stderr and exit code 2 (see ``bot.startup_errors``); a token Discord
rejects is exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import discord
from pydantic import ValidationError

from bot.app import create_bot, migrate_database, preload_extensions
from bot.config import (
    ConfigError,
    Settings,
    config_path_in_use,
    load_settings,
    readable_by_others,
    without_secrets,
)
from bot.db import Database
from bot.db.migrate import downgrade, upgrade
from bot.log_redaction import install_redaction
from bot.services.privacy import PrivacyService
from bot.startup_errors import (
    StartupFailure,
    opening_database,
    preparing_sandbox,
    reaching_discord,
)

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
    run = commands.add_parser(
        "run", help="connect to Discord; with no token, start the offline sandbox (default)"
    )
    run.add_argument(
        "--shard-ids",
        type=_shard_ids,
        help="run these shards of a sharded bot, e.g. 0,1 (with --shard-count)",
    )
    run.add_argument(
        "--shard-count", type=int, help="how many shards the whole bot has (with --shard-ids)"
    )
    commands.add_parser("sandbox", help="start the offline sandbox even when a token is set")
    commands.add_parser("sync", help="register the slash commands with Discord now, then exit")
    db = commands.add_parser("db", help="database migrations")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    up = db_commands.add_parser("upgrade", help="migrate to the newest schema (default: head)")
    up.add_argument("revision", nargs="?", default="head")
    down = db_commands.add_parser(
        "downgrade", help="migrate back to an older revision (can drop tables and their data)"
    )
    down.add_argument("revision")
    down.add_argument(
        "--yes", action="store_true", help="confirm the downgrade; without it nothing is changed"
    )
    purge = commands.add_parser(
        "purge-server",
        help="delete everything stored about one server now (kick the bot from it first)",
    )
    purge.add_argument("server_id", type=_server_id, help="the server's (guild's) ID")
    return parser


def _server_id(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = 0
    if not 0 < value < 2**63:
        raise argparse.ArgumentTypeError(
            f"{text!r}: a server ID is a number, e.g. 123456789012345678 "
            "(right-click the server > Copy Server ID)"
        )
    return value


def _shard_ids(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: shard ids are numbers, e.g. 0,1") from None


def with_shards(
    settings: Settings, shard_ids: tuple[int, ...] | None, shard_count: int | None
) -> Settings:
    """The settings with the command line's shards (which win over the config file)."""
    if shard_ids is None and shard_count is None:
        return settings
    discord_values = settings.discord.model_dump()
    discord_values.update(shard_ids=shard_ids, shard_count=shard_count)
    try:
        return settings.model_copy(
            update={"discord": type(settings.discord).model_validate(discord_values)}
        )
    except ValidationError as error:
        raise ConfigError(
            [
                f"--shard-ids/--shard-count: {e['msg'].removeprefix('Value error, ')}"
                for e in error.errors()
            ]
        ) from None


def configure_logging(level: str, *, secrets: Iterable[str] = ()) -> None:
    """Log to stderr at ``level``, with interaction tokens and ``secrets`` always hidden."""
    discord.utils.setup_logging(level=getattr(logging, level), root=True)
    install_redaction(secrets)


async def _migrate(settings: Settings, action: str, revision: str) -> None:
    url = settings.database.url
    with opening_database(url):
        database = Database(url, statement_timeout=None)  # a migration may take minutes
        try:
            await (upgrade if action == "upgrade" else downgrade)(database, revision)
        finally:
            await database.dispose()
    print(f"Database at {revision} ({action}).")  # noqa: T201


async def _purge_server(settings: Settings, server_id: int) -> bool:
    """Delete the server's data; False (and nothing changed) when the database has none."""
    url = settings.database.url
    with opening_database(url):
        database = Database(url, statement_timeout=None)  # a big server may take a while
        try:
            await upgrade(database)
            purged = await PrivacyService(database).purge_server(server_id)
        finally:
            await database.dispose()
    if purged is None:
        print(  # noqa: T201
            f"pln-coach: nothing is stored about a server with ID {server_id} in the database "
            f"at {without_secrets(url)}; nothing was deleted. Check the ID (right-click the "
            "server > Copy Server ID).",
            file=sys.stderr,
        )
        return False
    print(  # noqa: T201
        f"Deleted everything stored about server {server_id} ({purged.name!r}): "
        f"{purged.deleted.total} rows."
    )
    for table, count in sorted(purged.deleted.rows.items()):
        print(f"  {table}: {count}")  # noqa: T201
    print(  # noqa: T201
        "If the bot is still in that server, it starts storing again as members use it: "
        "remove the bot from the server to stop that."
    )
    return True


async def _run_bot(settings: Settings, token: str, *, sync_only: bool) -> None:
    await _prepare_database(settings)
    bot = create_bot(settings, force_command_sync=sync_only, database_ready=True)
    with (
        reaching_discord(settings.discord.api_base_url, settings.database.url, token),
        stop_on_sigterm(),
    ):
        async with bot:
            if sync_only:
                await bot.login(token)  # login runs setup_hook, which syncs
            else:
                await bot.start(token)


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Make SIGTERM (process managers, `docker stop`, systemd) a clean stop like Ctrl-C.

    Without it the process dies on the spot and the passive signals still queued (up to a
    second's worth) are lost; with it the bot closes, which stores them.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    terminated = False

    def terminate() -> None:
        nonlocal terminated
        terminated = True
        if task is not None:
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, terminate)
    except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
        yield
        return
    try:
        yield
    except asyncio.CancelledError:
        if not terminated:
            raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


async def _prepare_database(settings: Settings) -> None:
    """Open and migrate the database before logging in; setup_hook then finds it at head."""
    url = settings.database.url
    with opening_database(url):
        # On a thread with its own loop (alembic's work is blocking, and SQLite runs inline).
        await asyncio.to_thread(asyncio.run, migrate_database(url, echo=settings.database.echo))


async def _run_sandbox(settings: Settings) -> None:
    from bot.sandbox import run_sandbox

    with preparing_sandbox():
        await run_sandbox(settings)


def _downgrade_refusal(settings: Settings, revision: str) -> str:
    return (
        f"pln-coach: db downgrade {revision} would take the database at "
        f"{without_secrets(settings.database.url)} back to revision {revision}, dropping the "
        "tables and data added since; nothing was changed. Re-run with --yes to do it."
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
        if getattr(args, "shard_ids", None) is not None or getattr(args, "shard_count", None):
            settings = with_shards(settings, args.shard_ids, args.shard_count)
    except ConfigError as error:
        for problem in error.problems:
            print(f"pln-coach: config error: {problem}", file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    command = args.command or "run"
    token = settings.discord.token
    configure_logging(
        settings.logging.level, secrets=[token.get_secret_value()] if token is not None else []
    )
    config_file = config_path_in_use(args.config)
    if config_file is not None and readable_by_others(config_file):
        log.warning(
            "%s can be read by other users of this machine, and it may hold the bot token: "
            "make it private with `chmod 600 %s`",
            config_file,
            config_file,
        )
    try:
        if command == "db":
            if args.db_command == "downgrade" and not args.yes:
                print(_downgrade_refusal(settings, args.revision), file=sys.stderr)  # noqa: T201
                return EXIT_CONFIG
            asyncio.run(_migrate(settings, args.db_command, args.revision))
        elif command == "purge-server":
            if not asyncio.run(_purge_server(settings, args.server_id)):
                return 1
        elif command == "sandbox" or (command == "run" and token is None):
            asyncio.run(_run_sandbox(settings))
        elif token is None:
            print(  # noqa: T201
                "pln-coach: config error: discord.token: needed for `sync` "
                "(set DISCORD_TOKEN or PLN_DISCORD__TOKEN)",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        else:
            preload_extensions()
            asyncio.run(_run_bot(settings, token.get_secret_value(), sync_only=command == "sync"))
    except StartupFailure as failure:
        print(f"pln-coach: {failure}", file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
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
