"""INSERT ... ON CONFLICT for the two backends we support (their insert() APIs match)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from bot.db.statements import Rows, dialect_of


def dialect_insert(session: Rows, table: Any) -> Any:
    """An insert() that has ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
    if dialect_of(session).name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
