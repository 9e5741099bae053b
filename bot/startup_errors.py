"""The one line an operator reads when PLN Coach cannot start, and what it tells them to fix.

A database that is down or misnamed, Discord out of reach, a folder already in use: these are
set-up problems, not bugs, and a traceback buries the one fact that matters. The command line
runs each start-up step inside one of the context managers below, which turn the exceptions that
step is known to raise into a StartupFailure carrying one line (exit code 2). Anything not
recognised here is a bug and keeps its traceback.

The step matters as much as the exception: asyncpg reports "connection refused" as a bare
``ConnectionRefusedError`` and aiohttp's errors are OSErrors too, so only the step says whether
the database or Discord was out of reach. Every line is built from our own words, the masked
database URL and a few driver messages; those are scrubbed of the database password, and every
line of the Discord step of the token, since a line that leaks a secret is worse than none.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import discord
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from bot.config import without_secrets
from bot.db.migrate import DatabaseNewerThanCode, UnknownRevision
from bot.errors import DatabaseUnavailable
from bot.sandbox.lock import SandboxAlreadyRunning, SandboxFolderUnusable

# SQLSTATE classes of PostgreSQL errors that mean "you cannot use this database as configured":
# connection exception, invalid authorization, no such database, too many connections, and
# "the database system is starting up / shutting down".
_POSTGRES_SETUP_STATES = ("08", "28", "3D", "53", "57P")


class StartupFailure(Exception):
    """Start-up cannot go on; ``str()`` is one line for the operator, secrets already hidden."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _scrubbed(text: str, secrets: list[str]) -> str:
    """``text`` (a driver's message) without any of ``secrets``.

    Applied to the driver's words only: scrubbing a whole line would also mangle a URL whose
    user and password are both "postgres" into "***ql+asyncpg://".
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _database_secrets(url: str) -> list[str]:
    # Both readings of the password: SQLAlchemy's (up to the first @) and the masking's (up to
    # the last @), so that neither a password nor its tail survives.
    secrets = [url.partition("://")[2].rpartition("@")[0].partition(":")[2]]
    with contextlib.suppress(ValueError):
        secrets.append(make_url(url).password or "")
    return sorted(secrets, key=len, reverse=True)


def _network_reason(error: OSError) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused (is it running, on that host and port?)"
    if isinstance(error, socket.gaierror):
        return "host name not found"
    if isinstance(error, TimeoutError):
        return "no answer in time (check the host, the port and any firewall)"
    return error.strerror or str(error) or type(error).__name__


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database or ""
    return Path(database.removeprefix("file:"))


def _file_in_the_way(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path``, when it is a file rather than a folder."""
    for ancestor in path.parents:
        if ancestor.exists():
            return None if ancestor.is_dir() else ancestor
    return None


def _driver_error(error: DBAPIError) -> BaseException:
    """The driver's own exception (asyncpg's hides behind SQLAlchemy's adapter)."""
    found: BaseException = error.orig if error.orig is not None else error
    while found.__cause__ is not None:
        found = found.__cause__
    return found


def _sqlite_line(error: BaseException, path: Path, where: str) -> str | None:
    fix = "or point database.url elsewhere"
    if isinstance(error, FileExistsError | NotADirectoryError) or (
        isinstance(error, OperationalError) and _file_in_the_way(path) is not None
    ):
        blocker = _file_in_the_way(path)
        what = f"{blocker} is a file, not a folder" if blocker else str(error)
        return f"cannot create the SQLite database {path}: {what}; move that file, {fix}"
    if isinstance(error, OSError):
        return f"cannot create the folder for the SQLite database {path}: {error.strerror}; {fix}"
    if not isinstance(error, OperationalError):
        return None
    message = str(_driver_error(error))
    if "readonly" in message or "read-only" in message:
        return (
            f"the SQLite database {path} is read-only: make the file and its folder writable "
            f"for this user, {fix}"
        )
    if "unable to open" in message:
        return (
            f"cannot open or create the SQLite database {path}: check that its folder exists "
            f"and this user may create files there, {fix}"
        )
    if "locked" in message:
        return f"the SQLite database {path} is locked by another program; close it and retry"
    if "not a database" in message:
        return f"{path} is not a SQLite database; {fix}"
    return f"the SQLite database {where} failed: {message}"


def _postgres_line(error: BaseException, url: str, where: str) -> str | None:
    secrets = _database_secrets(url)
    if isinstance(error, OSError):
        reason = _scrubbed(_network_reason(error), secrets)
        return f"cannot connect to the database at {where}: {reason}"
    if not isinstance(error, DBAPIError):
        return None
    driver_error = _scrubbed(str(_driver_error(error)), secrets)
    state = str(getattr(_driver_error(error), "sqlstate", "") or "")
    if state == "3D000":
        name = make_url(url).database
        return (
            f'database "{name}" does not exist on the server at {where}: create it '
            f"(createdb {name}) or fix database.url"
        )
    if state.startswith("28"):
        return f"PostgreSQL refused the login in database.url ({where}): {driver_error}"
    if state.startswith(_POSTGRES_SETUP_STATES) or isinstance(
        error, OperationalError | InterfaceError
    ):
        return f"the database at {where} cannot be used: {driver_error}"
    return None


def database_failure(error: BaseException, url: str) -> str | None:
    """The line for ``error`` raised while opening or migrating the database at ``url``."""
    where = without_secrets(url)
    if isinstance(error, DatabaseNewerThanCode):
        return (
            f"the database at {where} was migrated by a newer version of PLN Coach (revision "
            f"{', '.join(error.revisions)}, unknown to this one); run that version or update "
            "this one"
        )
    if isinstance(error, UnknownRevision):
        return (
            f"no database revision {error.revision!r} ({error.reason}); give head, base or one "
            f"of: {', '.join(error.known)}"
        )
    if isinstance(error, DatabaseUnavailable):
        return (
            f"the database at {where} did not answer in time (a lock held by another program, "
            "or a server that stopped answering); check it, then start again"
        )
    sqlite_path = _sqlite_path(url)
    line = (
        _sqlite_line(error, sqlite_path, where)
        if sqlite_path is not None
        else _postgres_line(error, url, where)
    )
    return None if line is None else _one_line(line)


def discord_failure(error: BaseException, api_base_url: str) -> str | None:
    """The line for ``error`` raised while logging in to Discord, or None if it is no such error."""
    if isinstance(error, discord.PrivilegedIntentsRequired):
        return _one_line(
            "Discord refused the Server Members intent that discord.members_intent = true asks "
            "for: switch it on in the Developer Portal (your application > Bot > Privileged "
            "Gateway Intents), or set members_intent = false"
        )
    if isinstance(error, aiohttp.ClientConnectorError):
        reason = _network_reason(error.os_error)
    elif isinstance(error, discord.DiscordServerError):
        reason = f"it answered {error.status} (try again later; see discordstatus.com)"
    elif isinstance(error, discord.GatewayNotFound):
        reason = "it gave no gateway address (try again later; see discordstatus.com)"
    elif isinstance(error, aiohttp.ClientError):
        reason = _network_reason(error) if isinstance(error, OSError) else type(error).__name__
    else:
        return None
    return _one_line(
        f"cannot reach Discord at {without_secrets(api_base_url)}: {reason}; check this "
        "machine's network, or discord.api_base_url if you set it"
    )


def sandbox_failure(error: BaseException) -> str | None:
    """The line for ``error`` raised while preparing the sandbox's folder."""
    if isinstance(error, SandboxAlreadyRunning):
        holder = f" (pid {error.pid})" if error.pid is not None else ""
        return f"another sandbox is already running in this folder{holder}; close it first"
    if isinstance(error, SandboxFolderUnusable):
        folder = error.folder.absolute()
        if folder.exists() and not folder.is_dir():
            problem = "that is a file; move it away"
        else:
            problem = f"{error.error.filename or folder}: {error.error.strerror}; fix that"
        return (
            f"the sandbox needs a folder {folder} for its database, but {problem} or start the "
            "sandbox in another folder"
        )
    return None


def _database_startup_failure(error: Exception, url: str) -> StartupFailure | None:
    line = database_failure(error, url)
    if line is None:
        return None
    return StartupFailure(line)


@contextlib.contextmanager
def opening_database(url: str) -> Iterator[None]:
    """Connecting to and migrating the database: every OSError here is the database's."""
    try:
        yield
    except Exception as error:
        failure = _database_startup_failure(error, url)
        if failure is None:
            raise
        raise failure from error


@contextlib.contextmanager
def reaching_discord(api_base_url: str, database_url: str, token: str) -> Iterator[None]:
    """Logging in and starting the bot, which reopens the database in ``setup_hook``.

    Only errors typed as the database's are blamed on it here; a bare OSError is not.
    """
    try:
        yield
    except Exception as error:
        line = discord_failure(error, api_base_url)
        if line is None and not isinstance(error, OSError):
            failure = _database_startup_failure(error, database_url)
            line = None if failure is None else str(failure)
        if line is None:
            raise
        raise StartupFailure(_scrubbed(line, [token])) from error  # the token is never short


@contextlib.contextmanager
def preparing_sandbox() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        line = sandbox_failure(error)
        if line is None:
            raise
        raise StartupFailure(line) from error
