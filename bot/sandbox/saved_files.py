"""Files the bot attaches to its answers, saved where the sandbox user can open them."""

from __future__ import annotations

import re
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(filename: str) -> str:
    """A plain file name for ``filename``: no folders, no hidden files, only safe characters."""
    name = _UNSAFE.sub("_", filename.replace("\\", "/").rsplit("/", 1)[-1]).lstrip("._")
    return name[-100:] or "file"


class SavedFiles:
    """Saves attachments in ``folder``; a name used twice in one session gets ``-2``, ``-3``…
    (the sandbox starts fresh each time, so files of an earlier session are overwritten)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._used: set[str] = set()

    def save(self, filename: str, data: bytes) -> Path:
        name = safe_filename(filename)
        stem, dot, suffix = name.rpartition(".")
        if not dot or not stem:
            stem, dot, suffix = name, "", ""
        number = 1
        while name in self._used:
            number += 1
            name = f"{stem}-{number}{dot}{suffix}"
        self._used.add(name)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / name
        path.write_bytes(data)
        return path.resolve()
