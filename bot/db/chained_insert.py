"""Pieces of one PostgreSQL statement that inserts a row and the rows that name it.

On PostgreSQL a data-changing statement may carry others in its WITH clause; all of them run,
and they are atomic together, as one statement is. A later INSERT takes the first one's new id
by selecting from it (``insert_each``), and lists become rows with ``unnest`` (``listed``).

Every value the caller gives is a parameter named ``<part>_<column>``, ``part`` saying which
INSERT it belongs to, so each part takes the same dict of column values its ordinary INSERT
does (``parameters``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import TableValuedAlias
from sqlalchemy.types import TypeEngine


def given(table: Table, part: str, column: str) -> BindParameter[Any]:
    """``column``'s value as the caller gives it for ``part``."""
    return bindparam(f"{part}_{column}", type_=table.c[column].type)


def insert_each(
    table: Table,
    part: str,
    columns: Sequence[str],
    taken: Mapping[str, ColumnElement[Any]],
    source: FromClause,
) -> postgresql.Insert:
    """INSERT a row per row of ``source``: the ``taken`` columns from it, the rest given."""
    values = [
        taken[column] if column in taken else given(table, part, column) for column in columns
    ]
    return postgresql.insert(table).from_select(list(columns), select(*values).select_from(source))


def listed(part: str, items: Mapping[str, TypeEngine[Any]]) -> TableValuedAlias:
    """A row per item of lists given side by side (``<part>_<name>``, one per item column),
    numbered from 1 in ``ordinality``."""
    arrays = [
        bindparam(f"{part}_{name}", type_=postgresql.ARRAY(kind)) for name, kind in items.items()
    ]
    return (
        func.unnest(*arrays)
        .table_valued(*items, with_ordinality="ordinality")
        .render_derived(name=f"{part}_list")
    )


def parameters(**parts: Mapping[str, Any]) -> dict[str, Any]:
    """The statement's parameters from each part's column values."""
    return {
        f"{part}_{column}": value
        for part, values in parts.items()
        for column, value in values.items()
    }
