"""Statements on the hot paths, built once instead of on every call.

Building ``insert(...).values(...)`` or ``select(...).where(...)`` costs SQLAlchemy 0.2–0.4 ms of
Python each time; the SQL itself takes SQLite 0.02–0.1 ms. A /share ran nine such statements, so
the commands members use most build theirs once, on first use, with ``bindparam`` placeholders,
against the Core tables (an ORM entity adds a layer of work to every execution and result).
Statements whose SQL differs by backend (``INSERT ... ON CONFLICT``) are built once per dialect.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Dialect,
    Insert,
    Table,
    any_,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.types import TypeEngine

_S = TypeVar("_S")
_V = TypeVar("_V")

# A unit of work: an ORM session (``Database.read``/``write``) or a connection for statements on
# tables only (``Database.read_rows``/``write_rows``); what runs only Core statements takes either.
Rows = AsyncSession | AsyncConnection


def dialect_of(unit: Rows) -> Dialect:
    if isinstance(unit, AsyncConnection):
        return unit.dialect
    return unit.get_bind().dialect


# ``postgresql.insert`` or ``sqlite.insert``: both have on_conflict_do_nothing/do_update.
InsertFactory = Callable[[Table], Any]


def table_of(model: type[Any]) -> Table:
    """The Core table behind an ORM model."""
    return cast(Table, model.__table__)


class PerDialect(Generic[_S]):
    """A statement built on first use for each backend, from ``build(insert)``."""

    def __init__(self, build: Callable[[InsertFactory], _S]) -> None:
        self._build = build
        self._built: dict[str, _S] = {}

    def on(self, unit: Rows) -> _S:
        name = dialect_of(unit).name
        statement = self._built.get(name)
        if statement is None:
            factory: InsertFactory = postgresql.insert if name == "postgresql" else sqlite.insert
            statement = self._built[name] = self._build(factory)
        return statement


def is_one_of(
    column: ColumnElement[_V], name: str, insert: InsertFactory, item: TypeEngine[_V]
) -> ColumnElement[bool]:
    """``column IN (the list bound as name)``, in SQL that stays the same for any list.

    An ``expanding`` IN renders its SQL again on every execution (one placeholder per item): for
    /connect suggest's lists of a few hundred members, SQLAlchemy spent more on that than SQLite
    spent on the searches. Here the list is one parameter: a JSON array read with ``json_each``
    on SQLite, an array compared with ``= ANY`` on PostgreSQL; both still search the index for
    each item. ``insert`` tells the dialect, as in ``PerDialect``; ``item``: the items' type.
    """
    if insert is postgresql.insert:
        return column == any_(bindparam(name, type_=postgresql.ARRAY(item)))
    items = func.json_each(bindparam(name, type_=JSON())).table_valued("value")
    return column.in_(select(items.c.value))


def _named(columns: Iterable[str]) -> dict[str, Any]:
    return {column: bindparam(column) for column in columns}


def insert_named(table: Table, columns: Iterable[str]) -> Insert:
    """An INSERT of rows whose every value the caller gives under its column's name."""
    return insert(table).values(_named(columns))


def insert_new(
    table: Table, columns: Iterable[str], *, unique: Sequence[Column[Any]], returning: Column[Any]
) -> PerDialect[Any]:
    """``insert_named`` that does nothing when a row with the same ``unique`` values is there:
    it returns the new row's ``returning``, or no row (the caller looks the old one up)."""
    names = tuple(columns)
    return PerDialect(
        lambda dialect_insert: (
            dialect_insert(table)
            .values(_named(names))
            .on_conflict_do_nothing(index_elements=list(unique))
            .returning(returning)
        )
    )


# Lists longer than this are worth planning for (see plan_for_long_lists).
LONG_LIST = 150
_PLAN_EACH_RUN = "SET LOCAL plan_cache_mode = force_custom_plan"


async def plan_for_long_lists(unit: Rows) -> None:
    """On PostgreSQL, plan the rest of this transaction's statements for the lists they get.

    After five runs of a statement PostgreSQL may reuse one plan for any parameters, and in
    that plan a list bound as an array (``is_one_of``) is searched item by item for every row
    it filters: for a hub's 500 colleagues in a server of 100,000, 10-25 ms where a plan made
    for the list (which hashes it) takes 1 ms. Planning every run costs a fraction of a
    millisecond per statement, more than a short list ever costs, so only reads given lists
    longer than ``LONG_LIST`` ask for it. SQLite plans every statement anyway: nothing to do.
    """
    if dialect_of(unit).name == "postgresql":
        await unit.execute(text(_PLAN_EACH_RUN))


_PLAIN_WORD = re.compile(r"^[a-z_]+$")


def is_one_of_kinds(column: ColumnElement[str], kinds: Iterable[str]) -> ColumnElement[bool]:
    """``column IN ('a', 'b')`` for a fixed list of our own kinds, written into the SQL.

    An ``in_()`` of a Python list is bound as an expanding parameter, whose SQL SQLAlchemy
    renders again on every execution (a tenth of a millisecond for /progress); these lists
    never change, so they are part of the statement. Only plain lower-case words are allowed
    in, so nothing but our enums' values can reach the SQL.
    """
    words = [str(kind) for kind in kinds]
    if not words or not all(_PLAIN_WORD.match(word) for word in words):
        raise ValueError(f"not a list of plain kinds: {words!r}")
    return column.in_([literal_column(f"'{word}'") for word in words])
