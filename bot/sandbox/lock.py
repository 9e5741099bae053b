"""One sandbox per folder: each sandbox starts by deleting ``data/sandbox.sqlite3``.

Two sandboxes in one checkout would delete each other's database under their feet, so the
first holds an OS lock (``flock``) on ``data/sandbox.lock`` for as long as it runs. The kernel
drops the lock when the process ends however it ends (even ``kill -9``), so a crash never
leaves a stale lock to clean up by hand. The file also records the holder's pid, to name it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE_NAME = "sandbox.lock"


class SandboxAlreadyRunning(Exception):
    """Another sandbox holds this folder's lock; its database must be left alone."""

    def __init__(self, pid: int | None) -> None:
        super().__init__(f"another sandbox is already running (pid {pid})")
        self.pid = pid


class SandboxFolderUnusable(Exception):
    """The folder for the sandbox's database cannot be created or written."""

    def __init__(self, folder: Path, error: OSError) -> None:
        super().__init__(f"{folder}: {error.strerror}")
        self.folder = folder
        self.error = error


def _holder(descriptor: int) -> int | None:
    content = os.pread(descriptor, 32, 0).decode(errors="replace").strip()
    return int(content) if content.isdigit() else None  # None: the holder is still writing it


@contextlib.contextmanager
def sandbox_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s sandbox lock, or raise SandboxAlreadyRunning without waiting."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(folder / LOCK_FILE_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise SandboxFolderUnusable(folder, error) from error
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SandboxAlreadyRunning(_holder(descriptor)) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)  # releases the lock
