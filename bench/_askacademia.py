"""r/AskAcademia (../shared/data/askacademia-interactions.csv.gz) as threads and comments.

One reading of the file for every benchmark that replays this community, whether as signals
straight into the ingest (``bench.ingest_store``) or as member actions through the emulator's
gateway (``bench.ingest_gateway``): oldest first, without what deleted accounts wrote (they can
be no member of a server, as bots are not counted) and without comments in their threads.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "askacademia-interactions.csv.gz"


@dataclass(frozen=True, slots=True)
class Thread:
    key: str
    author: str
    at: int  # epoch seconds


@dataclass(frozen=True, slots=True)
class Comment:
    key: str
    thread: str
    parent: str  # the thread's key (a top-level answer) or the comment answered
    author: str
    parent_author: str  # empty when the parent's account was deleted
    at: int
    depth: int  # 1: answers the thread; more: answers a comment

    @property
    def top_level(self) -> bool:
        return self.depth == 1


def community() -> Iterator[Thread | Comment]:
    """Threads and comments in the order they were written."""
    with gzip.open(DATA, "rt", newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: int(row["created_utc"]))
    threads: set[str] = set()
    for row in rows:
        if not row["author"]:
            continue
        at = int(row["created_utc"])
        if row["kind"] == "submission":
            threads.add(row["id"])
            yield Thread(row["id"], row["author"], at)
        elif row["thread_id"] in threads:
            yield Comment(
                key=row["id"],
                thread=row["thread_id"],
                parent=row["parent_id"],
                author=row["author"],
                parent_author=row["parent_author"],
                at=at,
                depth=int(row["depth"]),
            )
