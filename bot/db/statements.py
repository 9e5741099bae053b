"""Statements on the hot paths, built once instead of on every call.

Building ``insert(...).values(...)`` or ``select(...).where(...)`` costs SQLAlchemy 0.2–0.4 ms of
Python each time; the SQL itself takes SQLite 0.02–0.1 ms. A /share ran nine such statements, so
the commands members use most build theirs once, on first use, with ``bindparam`` placeholders,
against the Core tables (an ORM entity adds a layer of work to every execution and result).
Statements whose SQL differs by backend (``INSERT ... ON CONFLICT``) are built once per dialect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

_S = TypeVar("_S")

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

    def on(self, session: AsyncSession) -> _S:
        name = session.get_bind().dialect.name
        statement = self._built.get(name)
        if statement is None:
            factory: InsertFactory = postgresql.insert if name == "postgresql" else sqlite.insert
            statement = self._built[name] = self._build(factory)
        return statement
