"""The statements a service sends, and SQLite's plans for them (the query-plan tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from bot.db import Database


@contextmanager
def statements_sent(database: Database) -> Iterator[list[tuple[str, Any]]]:
    """Every statement sent in the block, with its parameters, in order (on PostgreSQL, each
    one a round trip)."""
    statements: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", remember)
    try:
        yield statements
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", remember)


@contextmanager
def selects_sent(database: Database) -> Iterator[list[tuple[str, Any]]]:
    """The SELECT statements sent in the block, with their parameters, in order."""
    selects: list[tuple[str, Any]] = []
    with statements_sent(database) as statements:
        yield selects
    selects.extend(s for s in statements if s[0].lstrip().upper().startswith("SELECT"))


async def plans(
    database: Database, statements: list[tuple[str, Any]]
) -> list[tuple[str, list[str]]]:
    """Each statement with the details of SQLite's plan for it (``EXPLAIN QUERY PLAN``)."""
    found = []
    async with database.engine.connect() as connection:
        for statement, parameters in statements:
            plan = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            found.append((statement, [row[-1] for row in plan]))
    return found


def table_scans(details: list[str]) -> list[str]:
    """The steps of a plan that read a whole table (a subquery's own rows, anon_N, are read
    whole by design; a SELECT of scalar subqueries alone scans its one CONSTANT ROW)."""
    return [
        d
        for d in details
        if d.startswith("SCAN") and "USING" not in d and "anon_" not in d and d != SCAN_CONSTANT
    ]


SCAN_CONSTANT = "SCAN CONSTANT ROW"
