"""Which servers a process serves: all of them, or those on its shards.

Discord puts a server on shard ``(server_id >> 22) % shard_count``. A sharded bot runs several
processes, each with some shards; each decides its own servers' weekly posts (and takes over
another's once they are overdue). The same rule is written for Python and for SQL, so a query
can pick this process's servers without reading the others'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, literal_column, true


def shard_of(server_id: int, shard_count: int) -> int:
    """The shard Discord puts a server on."""
    return (server_id >> 22) % shard_count


@dataclass(frozen=True, slots=True)
class Shards:
    ids: tuple[int, ...] | None = None
    count: int | None = None

    @property
    def all(self) -> bool:
        return self.ids is None or self.count is None

    def owns(self, server_id: int) -> bool:
        return self.all or shard_of(server_id, self.count or 1) in (self.ids or ())

    def owned(self, server_id: Any) -> ColumnElement[bool]:
        """The same as ``owns``, as SQL on a server-id column."""
        if self.all:
            return true()
        # A literal 22: PostgreSQL has bigint >> integer, not bigint >> bigint (a bound number).
        shard = server_id.op(">>")(literal_column("22")) % (self.count or 1)
        return shard.in_(list(self.ids or ()))  # type: ignore[no-any-return]


ALL_SHARDS = Shards()
