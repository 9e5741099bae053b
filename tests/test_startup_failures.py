"""Every way start-up commonly fails ends in one line saying what to fix, and exit code 2.

Each case runs the real command line in a subprocess, the way an operator meets it: a database
that is down, missing, unreachable or unwritable, one migrated by a newer version, Discord out
of reach, a bad revision, a config path that is no config file. Logging is at WARNING so that
stderr holds nothing but what went wrong: the one line, no traceback, no stray warning.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.db import Database
from bot.db.migrate import known_revisions, upgrade
from bot.errors import DatabaseUnavailable
from bot.startup_errors import StartupFailure, database_failure, opening_database
from tests.conftest import POSTGRES_URL, asyncpg_url, environment_without_bot_settings

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gx0aBc.a-token-that-must-never-be-printed"
CLOSED_PORT_API = "http://127.0.0.1:1/api/v10"  # nothing listens on port 1
POSTGRES_DOWN = "postgresql+asyncpg://postgres@127.0.0.1:1/test"

# Every command that opens the database; `run` and `sync` with a token, so that the real bot's
# path is taken, pointed at a closed port so that reaching Discord first would fail the test.
DATABASE_COMMANDS = [
    pytest.param(["run"], id="run"),
    pytest.param(["sync"], id="sync"),
    pytest.param(["db", "upgrade"], id="db-upgrade"),
    pytest.param(["db", "downgrade", "base", "--yes"], id="db-downgrade"),
]


def pln_coach(arguments: list[str], cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    environment = environment_without_bot_settings() | {
        "PLN_LOGGING__LEVEL": "WARNING",
        "PLN_DISCORD__TOKEN": TOKEN,
        "PLN_DISCORD__API_BASE_URL": CLOSED_PORT_API,
        "PLN_DATABASE__URL": f"sqlite+aiosqlite:///{cwd / 'bot.sqlite3'}",
    }
    environment |= {f"PLN_{key.upper()}": value for key, value in settings.items()}
    return subprocess.run(
        [sys.executable, "-m", "bot", *arguments],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def failure_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line the operator got, after checking it was all they got."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pln-coach: ")
    assert TOKEN not in result.stderr + result.stdout
    return lines[0]


def migrated_sqlite(path: Path) -> str:
    url = f"sqlite+aiosqlite:///{path}"

    async def migrate() -> None:
        database = Database(url)
        try:
            await upgrade(database)
        finally:
            await database.dispose()

    asyncio.run(migrate())
    return url


def tables_of(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


def revision_of(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(revision)


@pytest.mark.parametrize("command", DATABASE_COMMANDS)
def test_postgresql_down(command: list[str], tmp_path: Path) -> None:
    assert failure_line(pln_coach(command, tmp_path, database__url=POSTGRES_DOWN)) == (
        f"pln-coach: cannot connect to the database at {POSTGRES_DOWN}: connection refused "
        "(is it running, on that host and port?)"
    )


@pytest.mark.parametrize("command", [["run"], ["db", "upgrade"]], ids=["run", "db-upgrade"])
def test_postgresql_host_unknown(command: list[str], tmp_path: Path) -> None:
    url = "postgresql+asyncpg://postgres@no-such-host.invalid/test"
    assert failure_line(pln_coach(command, tmp_path, database__url=url)) == (
        f"pln-coach: cannot connect to the database at {url}: host name not found"
    )


@pytest.mark.skipif(POSTGRES_URL is None, reason="needs PostgreSQL: set PLN_TEST_DATABASE_URL")
@pytest.mark.parametrize("command", [["run"], ["db", "upgrade"]], ids=["run", "db-upgrade"])
def test_postgresql_database_missing(command: list[str], tmp_path: Path) -> None:
    assert POSTGRES_URL is not None
    url = make_url(asyncpg_url(POSTGRES_URL)).set(database="no_such_db_xyz")
    line = failure_line(
        pln_coach(command, tmp_path, database__url=url.render_as_string(hide_password=False))
    )
    assert line.startswith('pln-coach: database "no_such_db_xyz" does not exist on the server at ')
    assert line.endswith(": create it (createdb no_such_db_xyz) or fix database.url")
    assert url.render_as_string(hide_password=True) in line


@pytest.mark.parametrize("command", [["run"], ["db", "upgrade"]], ids=["run", "db-upgrade"])
def test_sqlite_path_under_a_file(command: list[str], tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a folder")
    database = tmp_path / "notes.txt" / "pln" / "bot.sqlite3"
    line = failure_line(
        pln_coach(command, tmp_path, database__url=f"sqlite+aiosqlite:///{database}")
    )
    assert line == (
        f"pln-coach: cannot create the SQLite database {database}: {tmp_path / 'notes.txt'} is "
        "a file, not a folder; move that file, or point database.url elsewhere"
    )
    assert (tmp_path / "notes.txt").read_text() == "not a folder"


def test_sqlite_read_only(tmp_path: Path) -> None:
    # Opened read-only by SQLite itself: chmod would not stop root, which runs these tests.
    database = tmp_path / "bot.sqlite3"
    sqlite3.connect(database).close()
    url = f"sqlite+aiosqlite:///file:{database}?mode=ro&uri=true"
    assert failure_line(pln_coach(["db", "upgrade"], tmp_path, database__url=url)) == (
        f"pln-coach: the SQLite database {database} is read-only: make the file and its folder "
        "writable for this user, or point database.url elsewhere"
    )


def test_sqlite_folder_not_writable(tmp_path: Path) -> None:
    # /sys refuses new files even to root, who runs these tests and whom chmod does not stop.
    if _can_create_in("/sys"):
        pytest.skip("/sys accepts new files here, so it cannot stand for a read-only folder")
    url = "sqlite+aiosqlite:////sys/pln-coach.sqlite3"
    assert failure_line(pln_coach(["run"], tmp_path, database__url=url)) == (
        "pln-coach: cannot open or create the SQLite database /sys/pln-coach.sqlite3: check "
        "that its folder exists and this user may create files there, or point database.url "
        "elsewhere"
    )


def _can_create_in(folder: str) -> bool:
    probe = Path(folder) / "pln-coach-probe"
    try:
        probe.touch(exist_ok=False)
    except OSError:
        return False
    probe.unlink()
    return True


def test_no_thread_traceback_follows_a_failed_sqlite_open(tmp_path: Path) -> None:
    # aiosqlite's worker thread used to outlive the event loop now and then, and print
    # "RuntimeError: Event loop is closed" with its traceback under the one line.
    url = f"sqlite+aiosqlite:///file:{tmp_path / 'missing.sqlite3'}?mode=ro&uri=true"

    async def migrate() -> None:
        with opening_database(url):
            database = Database(url)
            try:
                await upgrade(database)
            finally:
                await database.dispose()

    thread_errors: list[BaseException | None] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: thread_errors.append(args.exc_value)
    try:
        for _ in range(50):
            with pytest.raises(StartupFailure):
                asyncio.run(migrate())
        for thread in threading.enumerate():
            if thread.name.endswith("(_connection_worker_thread)"):
                thread.join(timeout=1)
    finally:
        threading.excepthook = previous
    assert thread_errors == []


@pytest.mark.parametrize(
    "command",
    [["run"], ["db", "upgrade"], ["db", "downgrade", known_revisions()[-1], "--yes"]],
    ids=["run", "db-upgrade", "db-downgrade"],
)
def test_database_migrated_by_a_newer_version(command: list[str], tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    url = migrated_sqlite(database)
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'f00d0000future'")
    assert failure_line(pln_coach(command, tmp_path, database__url=url)) == (
        f"pln-coach: the database at {url} was migrated by a newer version of PLN Coach "
        "(revision f00d0000future, unknown to this one); run that version or update this one"
    )
    assert revision_of(database) == "f00d0000future"


@pytest.mark.parametrize(
    "command",
    [["db", "upgrade", "9999"], ["db", "downgrade", "9999", "--yes"]],
    ids=["db-upgrade", "db-downgrade"],
)
def test_unknown_revision(command: list[str], tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    migrated_sqlite(database)
    assert failure_line(pln_coach(command, tmp_path)) == (
        "pln-coach: no database revision '9999' (Can't locate revision identified by '9999'); "
        f"give head, base or one of: {', '.join(known_revisions())}"
    )
    assert revision_of(database) == known_revisions()[0]


@pytest.mark.parametrize("command", [["run"], ["sync"]])
def test_discord_unreachable(command: list[str], tmp_path: Path) -> None:
    assert failure_line(pln_coach(command, tmp_path)) == (
        f"pln-coach: cannot reach Discord at {CLOSED_PORT_API}: connection refused (is it "
        "running, on that host and port?); check this machine's network, or "
        "discord.api_base_url if you set it"
    )


def test_config_path_is_a_folder(tmp_path: Path) -> None:
    assert failure_line(pln_coach(["--config", str(tmp_path), "run"], tmp_path)) == (
        f"pln-coach: config error: {tmp_path}: is a folder; give the path of a TOML file"
    )


def test_config_file_is_not_utf8(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    text = '[logging]\nlevel = "DEBUG"  # café, saved by an old editor\n'
    config.write_bytes(text.encode("latin-1"))
    assert failure_line(pln_coach(["--config", str(config), "db", "upgrade"], tmp_path)) == (
        f"pln-coach: config error: {config}: not UTF-8 text (byte 0xe9 at position "
        f"{text.index('é')}); save the file as UTF-8"
    )


@pytest.mark.parametrize("command", [["run"], ["sandbox"]])
def test_sandbox_folder_is_a_file(command: list[str], tmp_path: Path) -> None:
    (tmp_path / "data").write_text("someone's notes")
    result = pln_coach(command, tmp_path, discord__token="")  # no token: `run` is the sandbox
    assert failure_line(result) == (
        f"pln-coach: the sandbox needs a folder {tmp_path / 'data'} for its database, but "
        "that is a file; move it away or start the sandbox in another folder"
    )
    assert (tmp_path / "data").read_text() == "someone's notes"


@pytest.mark.parametrize(
    ("password", "pieces"),
    [
        ("hunt3r%40tw0%3Athr33%2Ff0ur", ["hunt3r", "tw0", "thr33", "f0ur"]),  # percent-encoded
        ("hunt3r:tw0/thr33", ["hunt3r", "tw0", "thr33"]),  # : and / are read correctly as is
        ("hunt3r@tw0", ["hunt3r", "tw0"]),  # @ must be encoded: a config error, still masked
        ("hunt3r@tw0:thr33/f0ur", ["hunt3r", "tw0", "thr33", "f0ur"]),
    ],
)
def test_database_passwords_never_appear(password: str, pieces: list[str], tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://coach:{password}@127.0.0.1:1/test"
    line = failure_line(pln_coach(["run"], tmp_path, database__url=url))
    assert "postgresql+asyncpg://coach:***@127.0.0.1:1/test" in line
    for piece in pieces:
        assert piece not in line


def test_downgrade_asks_for_yes_and_changes_nothing_without_it(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    url = migrated_sqlite(database)
    assert failure_line(pln_coach(["db", "downgrade", "base"], tmp_path)) == (
        f"pln-coach: db downgrade base would take the database at {url} back to revision "
        "base, dropping the tables and data added since; nothing was changed. Re-run with "
        "--yes to do it."
    )
    assert revision_of(database) == known_revisions()[0]
    assert "members" in tables_of(database)

    result = pln_coach(["db", "downgrade", "base", "--yes"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert tables_of(database) == {"alembic_version"}


def test_a_database_that_does_not_answer_in_time_is_one_line() -> None:
    """E.g. the command-sync write at login, while another program holds SQLite's write lock."""
    line = database_failure(
        DatabaseUnavailable(DatabaseUnavailable.SAVING),
        "postgresql+asyncpg://coach:s3cr@t@db.example/pln",
    )
    assert line is not None
    assert "did not answer in time" in line
    assert "s3cr" not in line
