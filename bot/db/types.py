"""Column types shared by the models."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Integer
from sqlalchemy.types import TypeDecorator

# Discord ids are 64-bit snowflakes. Our own surrogate keys use BIGINT too, except on SQLite where
# only INTEGER PRIMARY KEY auto-increments.
Snowflake = BigInteger
SurrogateKey = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (never the naive ``utcnow()``)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    SQLite keeps no timezone, so values are stored as UTC and handed back with ``tzinfo=UTC``;
    naive datetimes are refused on the way in because their meaning is a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    # On SQLite each value went through two converters, this type's and SQLAlchemy's text
    # format (a regular expression on the way out): 3% of /share's and /ask's CPU under load,
    # for a few datetimes per statement. One function each way does the same in C.

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite":
            return _sqlite_text
        return super().bind_processor(dialect)

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite":
            return _from_sqlite_text
        return super().result_processor(dialect, coltype)


def _sqlite_text(value: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite DATETIME stores (``2026-12-03 09:30:00.000000``, UTC), so
    that the database's comparisons of stored and bound values stay comparisons of times."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given; use an aware UTC datetime")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _from_sqlite_text(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC)
