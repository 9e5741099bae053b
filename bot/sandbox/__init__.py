"""The offline sandbox: the local Discord emulator, a demo server, the real bot, and a prompt.

`make run` starts it when no Discord token is configured, so anyone can try PLN Coach in a
terminal in a minute, without creating a Discord application first. Its database is wiped at
every start, so only one sandbox may run in a folder at a time (see ``lock``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.app import PLNCoachBot
from bot.config import Settings, local_settings
from bot.sandbox.console import SandboxConsole
from bot.sandbox.demo_world import build_demo_world
from bot.sandbox.lock import SandboxFolderUnusable, sandbox_lock
from bot.scheduling.clock import ShiftedClock
from emulator import DiscordEmulator

SANDBOX_DATABASE = Path("data/sandbox.sqlite3")
# Images and files the bot attaches to its answers, saved for the user to open.
SANDBOX_FILES = Path("data/sandbox-files")

BANNER = """\
=====================================================================
 PLN Coach: OFFLINE SANDBOX
 No Discord token is configured, so this is a local copy of Discord
 (the emulator) with a demo server, "Demo Educators", and the real
 bot connected to it. Nothing leaves this machine; the sandbox starts
 fresh each time (its database: {database}).

 To run on Discord instead: put your bot token in config.toml
 ([discord] token = "...") or in DISCORD_TOKEN, then `make run`.
 README.md shows how to create the application and invite the bot.
=====================================================================
You are Ana, in #general. Type :help for what you can do."""


def _fresh_database() -> str:
    """Delete the last sandbox's database; only under the sandbox lock, which made the folder."""
    for suffix in ("", "-wal", "-shm"):
        try:
            Path(f"{SANDBOX_DATABASE}{suffix}").unlink(missing_ok=True)
        except OSError as error:
            raise SandboxFolderUnusable(SANDBOX_DATABASE.parent, error) from error
    return f"sqlite+aiosqlite:///{SANDBOX_DATABASE}"


def _fresh_files() -> None:
    """Remove the files the last sandbox saved (only plain files directly in its folder)."""
    try:
        for path in SANDBOX_FILES.glob("*"):
            if path.is_file() or path.is_symlink():
                path.unlink(missing_ok=True)
    except OSError as error:
        raise SandboxFolderUnusable(SANDBOX_FILES, error) from error


async def run_sandbox(settings: Settings) -> None:
    """Run the sandbox until the prompt ends.

    Raises SandboxAlreadyRunning (another sandbox uses this folder; nothing was touched) or
    SandboxFolderUnusable (``data`` cannot be created or written).
    """
    with sandbox_lock(SANDBOX_DATABASE.parent):
        await _run_locked(settings)


async def _run_locked(settings: Settings) -> None:
    if settings.logging.level == "INFO":
        logging.getLogger().setLevel(logging.WARNING)  # keep the prompt readable
    async with DiscordEmulator() as emulator:
        world = build_demo_world(emulator)
        _fresh_files()
        sandbox_settings = local_settings(
            token=world.app.token,
            api_base_url=emulator.api_base_url,
            gateway_url=emulator.gateway_url,
            database_url=_fresh_database(),
            logging=settings.logging,
            members_intent=True,  # the emulator grants it: :join shows the welcome
        )
        clock = ShiftedClock()  # `:clock +3d` moves it, to see next week's posts now
        bot = PLNCoachBot(sandbox_settings, guild_ready_timeout=0.1, clock=clock)
        async with bot, bot.connected(world.app.token):
            print(BANNER.format(database=SANDBOX_DATABASE))
            console = SandboxConsole(
                emulator,
                world,
                files_folder=SANDBOX_FILES,
                clock=clock,
                next_post_at=bot.services.weekly_posts.next_wake,
            )
            await console.loop()
