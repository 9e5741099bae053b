"""One sandbox per folder: a second is refused and the first keeps its database.

Each sandbox wipes ``data/sandbox.sqlite3`` when it starts, so before the lock a second sandbox
in the same checkout deleted the first one's database under it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import environment_without_bot_settings


@contextmanager
def open_sandbox(folder: Path) -> Iterator[subprocess.Popen[str]]:
    """A sandbox at its prompt, reading commands from a pipe, as from a terminal."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=folder,
        env=environment_without_bot_settings(),
    )
    try:
        assert process.stdout is not None
        seen = ""
        while "Type :help" not in seen:
            line = process.stdout.readline()
            assert line, f"the sandbox ended before its prompt:\n{seen}"
            seen += line
        yield process
    finally:
        process.kill()
        process.communicate(timeout=10)


def run_sandbox(folder: Path, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "sandbox"],
        input=script,
        capture_output=True,
        text=True,
        cwd=folder,
        env=environment_without_bot_settings(),
        timeout=60,
        check=False,
    )


def test_a_second_sandbox_is_refused_and_the_first_keeps_working(tmp_path: Path) -> None:
    database = tmp_path / "data" / "sandbox.sqlite3"
    with open_sandbox(tmp_path) as first:
        before = database.stat()

        second = run_sandbox(tmp_path, "/share url:https://example.org/second\n:quit\n")
        assert second.returncode == 2
        assert second.stderr.splitlines() == [
            f"pln-coach: another sandbox is already running in this folder (pid {first.pid}); "
            "close it first"
        ]
        assert second.stdout == ""  # it never started: no banner, no prompt
        after = database.stat()
        assert (after.st_ino, after.st_size) == (before.st_ino, before.st_size)

        output, _ = first.communicate("/share url:https://example.org/first\n:quit\n", timeout=30)
        assert first.returncode == 0, output
        assert "**Shared!**" in output


def test_the_lock_goes_with_a_killed_sandbox(tmp_path: Path) -> None:
    with open_sandbox(tmp_path) as first:
        os.kill(first.pid, signal.SIGKILL)  # no clean-up code runs
        first.wait(timeout=10)
    second = run_sandbox(tmp_path, "/share url:https://example.org/again\n:quit\n")
    assert second.returncode == 0, second.stderr
    assert "**Shared!**" in second.stdout
