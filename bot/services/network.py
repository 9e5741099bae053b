"""The ties graph and conversation weeks of a server, kept in step with the ledger.

After each batch of signals, every pair the batch touched is recomputed from its interactions in
the ledger (see ``conversations``): withdrawn credit (a reaction removed, a message deleted)
is handled the same way as new credit, and ``rebuild`` replays a whole server to the same rows.

A batch's rows are written and read in bulk, a statement for all of them (``BulkInsert``,
``BulkDelete``): see ``_Bulk`` for why.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    Dialect,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    func,
    literal_column,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import UpdateBase

from bot.db import ActivityEvent, ConversationWeek, Tie
from bot.habits import INTERACTION_KINDS, EventKind
from bot.services.conversations import (
    Interaction,
    conversation_weeks,
    pair_of,
    tie_summary,
)

_KINDS = [kind.value for kind in INTERACTION_KINDS]
_THREAD_MESSAGE = EventKind.THREAD_MESSAGE.value
_TIES = cast(Table, Tie.__table__)
_WEEKS = cast(Table, ConversationWeek.__table__)


# -- bulk statements ------------------------------------------------------------------------------


class _Bulk:
    """A statement over many rows given as plain tuples (aware UTC datetimes, dates, ints,
    text), compiled once per dialect.

    The writer shares the GIL with the thread reading the gateway, and that thread is busy:
    the writer pays for every hand-over of the GIL, not just for its own work. SQLAlchemy's
    executemany turns each row into a dict and passes each value through its type's processors
    in Python; and on SQLite, Python's driver gives the GIL up and takes it back around each
    row's step, each time waiting for the reading thread to let go of it (up to the 5 ms switch
    interval). So on SQLite the rows go as one JSON parameter into one statement that reads
    them with ``json_each``: one step, one hand-over, for the whole batch. On PostgreSQL they
    go to asyncpg's executemany as they are (its round trips are the event loop's).
    """

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        self._sql: dict[str, str] = {}

    def statement(self, dialect_name: str) -> UpdateBase:
        raise NotImplementedError

    def sql(self, dialect: Dialect) -> str:
        found = self._sql.get(dialect.name)
        if found is None:
            compiled = self.statement(dialect.name).compile(
                dialect=dialect, column_keys=list(self.columns), for_executemany=True
            )
            takes = ("rows",) if dialect.name == "sqlite" else self.columns
            if tuple(compiled.positiontup or ()) != takes:
                raise ValueError(f"bulk statement takes {compiled.positiontup}, not {takes}")
            found = self._sql[dialect.name] = compiled.string
        return found

    async def run(self, session: AsyncSession, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        connection = await session.connection()
        sql = self.sql(connection.dialect)
        if connection.dialect.name == "sqlite":
            await connection.exec_driver_sql(sql, (json.dumps(rows, default=_sqlite_value),))
        else:
            await connection.exec_driver_sql(sql, rows)


def _json_rows(width: int) -> Select[Any]:
    """The rows of the JSON array bound as ``rows``, one column per item (SQLite)."""
    rows = func.json_each(bindparam("rows")).table_valued("value").alias("row")
    return select(
        *(func.json_extract(rows.c.value, literal_column(f"'$[{i}]'")) for i in range(width))
    ).select_from(rows)


class BulkInsert(_Bulk):
    """Rows inserted, with what ``on_conflict`` adds to the dialect's insert()."""

    def __init__(
        self,
        table: Table,
        columns: Sequence[str],
        on_conflict: Callable[[Any], Any] = lambda insert: insert,
    ) -> None:
        super().__init__(columns)
        self._table = table
        self._on_conflict = on_conflict

    def statement(self, dialect_name: str) -> UpdateBase:
        insert: Any
        if dialect_name == "sqlite":
            # "WHERE true": without a WHERE, SQLite would read ON CONFLICT as the SELECT's join.
            rows = _json_rows(len(self.columns)).where(true())
            insert = sqlite.insert(self._table).from_select(list(self.columns), rows)
        else:
            insert = postgresql.insert(self._table)
        return cast(UpdateBase, self._on_conflict(insert))


class BulkDelete(_Bulk):
    """The rows matching each given key deleted."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        super().__init__(columns)
        self._table = table

    def statement(self, dialect_name: str) -> UpdateBase:
        key = [self._table.c[name] for name in self.columns]
        if dialect_name == "sqlite":
            return delete(self._table).where(tuple_(*key).in_(_json_rows(len(key))))
        return delete(self._table).where(and_(*(column == bindparam(column.key) for column in key)))


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC, as the ``UTCDateTime`` columns take it (naive times are refused)."""
    if moment.tzinfo is UTC:
        return moment
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; use an aware UTC datetime")
    return moment.astimezone(UTC)


# Cached (a tie's first and last times are the times of interactions just written, a member's
# last-seen time is the batch's): called by the JSON encoder for every time it meets.
@functools.lru_cache(maxsize=32_768, typed=True)
def _sqlite_value(value: Any) -> str:
    """A time or a day as SQLAlchemy's column types store them on SQLite (``UTCDateTime``:
    naive UTC, to the microsecond)."""
    if isinstance(value, datetime):
        return utc(value).isoformat(" ", "microseconds")[:26]
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"no SQLite value for {type(value).__name__}")


def _on_conflict_update(*names: str) -> Callable[[Any], Any]:
    """ON CONFLICT on the table's primary key: take these columns' new values."""

    def clause(insert: Any) -> Any:
        return insert.on_conflict_do_update(
            index_elements=list(insert.table.primary_key.columns),
            set_={name: insert.excluded[name] for name in names},
        )

    return clause


_PAIR = ("server_id", "member_a", "member_b")
_UPSERT_TIES = BulkInsert(
    _TIES,
    (*_PAIR, "first_at", "last_at", "a_to_b", "b_to_a"),
    _on_conflict_update("first_at", "last_at", "a_to_b", "b_to_a"),
)
_DELETE_TIES = BulkDelete(_TIES, _PAIR)
_DELETE_WEEKS = BulkDelete(_WEEKS, _PAIR)
_INSERT_WEEKS = BulkInsert(_WEEKS, (*_PAIR, "week"))


# -- the pairs ------------------------------------------------------------------------------------


async def store_pairs(
    session: AsyncSession,
    server_id: int,
    pairs: Iterable[tuple[int, int]],
    interactions: Mapping[tuple[int, int], list[Interaction]] | None = None,
) -> None:
    """Recompute the tie and conversation weeks of each pair from its interactions.

    ``interactions``: each pair's, as the ledger has them now (by default they are read).
    Then a statement each (``_Bulk``): the ties upserted, the ties of pairs left with no
    interaction deleted, the pairs' weeks deleted and written again.
    """
    wanted = sorted({pair_of(*pair) for pair in pairs})
    if not wanted:
        return
    if interactions is None:
        interactions = await read_interactions(session, server_id, wanted)
    ties: list[tuple[Any, ...]] = []
    weeks: list[tuple[Any, ...]] = []
    gone: list[tuple[Any, ...]] = []
    for a, b in wanted:
        found = interactions.get((a, b), [])
        tie = tie_summary(found)
        if tie is None:  # nothing left between them (credit withdrawn)
            gone.append((server_id, a, b))
            continue
        ties.append((server_id, a, b, tie.first_at, tie.last_at, tie.a_to_b, tie.b_to_a))
        weeks.extend((server_id, a, b, week) for week in sorted(conversation_weeks(found)))
    await _UPSERT_TIES.run(session, ties)
    await _DELETE_TIES.run(session, gone)
    await _DELETE_WEEKS.run(session, [(server_id, a, b) for a, b in wanted])
    await _INSERT_WEEKS.run(session, weeks)


# Each pair's interactions, either way: each pair is a look-up per direction in the (server,
# member, other) index, however many interactions the two have with others. The pairs are one
# parameter: a JSON array on SQLite (read first, hence CROSS JOIN), two arrays on PostgreSQL.
# On SQLite the rows come back as one JSON array too: one step of the statement (see ``_Bulk``).
_PAIR_INTERACTIONS = {
    "sqlite": """
        SELECT json_group_array(
            json_array(e.occurred_at, e.member_id, e.other_member_id, e.channel_id, e.kind)
        )
        FROM json_each(?) AS wanted CROSS JOIN activity_events AS e
        WHERE e.server_id = ?
          AND e.member_id = json_extract(wanted.value, '$[0]')
          AND e.other_member_id = json_extract(wanted.value, '$[1]')
          AND e.kind IN (SELECT value FROM json_each(?))
    """,
    "postgresql": """
        SELECT e.occurred_at, e.member_id, e.other_member_id, e.channel_id, e.kind
        FROM unnest($1::bigint[], $2::bigint[]) AS wanted(member_id, other_member_id)
        JOIN activity_events AS e
          ON e.member_id = wanted.member_id AND e.other_member_id = wanted.other_member_id
        WHERE e.server_id = $3 AND e.kind = ANY($4::varchar[])
    """,
}


async def read_interactions(
    session: AsyncSession, server_id: int, pairs: Iterable[tuple[int, int]]
) -> defaultdict[tuple[int, int], list[Interaction]]:
    """Every interaction of each pair (smaller id first) in the ledger, in either direction."""
    wanted = list(pairs)
    connection = await session.connection()
    rows: Iterable[Sequence[Any]]
    if connection.dialect.name == "sqlite":
        both_ways = [(a, b) for a, b in wanted] + [(b, a) for a, b in wanted]
        result = await connection.exec_driver_sql(
            _PAIR_INTERACTIONS["sqlite"], (json.dumps(both_ways), server_id, json.dumps(_KINDS))
        )
        rows = json.loads(result.scalar_one())
    else:
        members = [a for a, _ in wanted] + [b for _, b in wanted]
        others = [b for _, b in wanted] + [a for a, _ in wanted]
        rows = await connection.exec_driver_sql(
            _PAIR_INTERACTIONS["postgresql"], (members, others, server_id, _KINDS)
        )
    found: defaultdict[tuple[int, int], list[Interaction]] = defaultdict(list)
    for at, member, other, channel, kind in rows:
        if isinstance(at, str):  # SQLite keeps UTC times as text (``UTCDateTime``)
            at = datetime.fromisoformat(at).replace(tzinfo=UTC)
        pair = (member, other) if member < other else (other, member)
        found[pair].append(interaction(at, member, other, channel, kind))
    return found


def interaction(
    at: datetime, member: int, other: int, channel: int | None, kind: str
) -> Interaction:
    """A ledger row as an interaction; a message in a thread is also a turn there."""
    return Interaction(at, member, other, channel if kind == _THREAD_MESSAGE else None)


async def rebuild(session: AsyncSession, server_id: int) -> None:
    """Replay the server's whole ledger into its ties and conversation weeks."""
    pairs = (
        await session.execute(
            select(ActivityEvent.member_id, ActivityEvent.other_member_id)
            .where(
                ActivityEvent.server_id == server_id,
                ActivityEvent.kind.in_(_KINDS),
                ActivityEvent.other_member_id.is_not(None),
            )
            .distinct()
        )
    ).all()
    await session.execute(delete(Tie).where(Tie.server_id == server_id))
    await session.execute(delete(ConversationWeek).where(ConversationWeek.server_id == server_id))
    await store_pairs(session, server_id, [(row[0], row[1]) for row in pairs if row[1] is not None])
