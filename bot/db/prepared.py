"""Hot statements compiled once and run straight on the driver (sqlite3 or asyncpg).

SQLAlchemy builds our statements and compiles them; what it does on *every* execution after
that (look the statement up in its compiled cache, build the parameters, set up an execution
context and a result) cost 30-45 µs of Python per statement on this machine, where SQLite's
own work for an index search or a small insert is 1-5 µs. A /share runs about fifteen
statements, so that machinery was a fifth of the bot's whole CPU time per share (py-spy).

``Prepared`` keeps what compiling a statement for a dialect gives (its SQL, its parameters in
order with their type conversions, its columns with theirs) and on SQLite runs it on the
connection's ``sqlite3`` cursor inside the unit of work SQLAlchemy began: same transaction,
same SQL, same conversions, about 5 µs. On PostgreSQL it runs on asyncpg's prepared
statement for that SQL (the one SQLAlchemy's asyncpg adapter caches), in the transaction
SQLAlchemy began: there the machinery cost as much Python as asyncpg's whole round trip.
Both backends answer with the same row shapes, so tests on either prove the other.

Only what the hot paths need is supported: named ``bindparam`` placeholders (or values fixed in
the statement, or column defaults), no expanding IN lists (see ``statements.is_one_of``). A
statement that needs more is run through SQLAlchemy, unchanged, and so is every statement while
``[database] echo`` asks SQLAlchemy to log them.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections import namedtuple
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast

from sqlalchemy import ClauseElement, Dialect, exc
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler

from bot.db.statements import PerDialect, Rows, dialect_of

_S = TypeVar("_S", bound=Executable)
_T = TypeVar("_T")
_Processor = Callable[[Any], Any] | None


class Result(Protocol):
    """What the hot paths read from a statement's result (SQLAlchemy's ``Result`` has it too)."""

    def all(self) -> Sequence[Any]: ...

    def one(self) -> Any: ...

    def one_or_none(self) -> Any | None: ...

    def first(self) -> Any | None: ...

    def scalar(self) -> Any: ...

    def scalar_one(self) -> Any: ...

    def scalar_one_or_none(self) -> Any: ...

    def scalars(self) -> Iterable[Any]: ...


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    # Each parameter once (a name may stand at several places in the SQL).
    names: tuple[str, ...]
    # Per parameter: its conversion to the driver's value, and its value fixed in the
    # statement or its column's default (used when the caller gives none).
    to_driver: tuple[_Processor, ...]
    fixed: tuple[Any, ...]
    # Which parameter goes at each place in the SQL, when a name stands at several (SQLite's
    # ``?``; /progress's time windows stand at 40 places, and were converted 40 times).
    places: tuple[int, ...] | None
    # The columns that need converting from the driver's value, by position, and their
    # conversions (most columns need none).
    from_driver: tuple[tuple[int, Callable[[Any], Any]], ...]
    # Makes a row (a named tuple) from a sequence of its values.
    row: Callable[[Sequence[Any]], Any] | None

    def arguments(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        values = []
        for name, convert, fixed in zip(self.names, self.to_driver, self.fixed, strict=True):
            value = params.get(name, fixed)
            if type(value) is _Default:
                value = value.make()
            elif value is _REQUIRED:
                raise exc.ArgumentError(f"A value is required for bind parameter {name!r}")
            values.append(convert(value) if convert is not None else value)
        if self.places is not None:
            return tuple(map(values.__getitem__, self.places))
        return tuple(values)

    def rows(self, raw: list[Any]) -> list[Any]:
        make = self.row
        if make is None:
            return []
        converters = self.from_driver
        if not converters:
            return list(map(make, raw))
        rows = []
        for fetched in raw:
            values = list(fetched)
            for position, convert in converters:
                values[position] = convert(values[position])
            rows.append(make(values))
        return rows


_REQUIRED = object()
# Rows are named tuples of each statement's columns (a class made per statement, not per row).
_ROW_TYPE = cast(Callable[..., type[tuple[Any, ...]]], namedtuple)


@dataclass(frozen=True, slots=True)
class _Default:
    """A column's default computed in Python (``default=utcnow``), made anew for each row."""

    make: Callable[[], Any]


def _column_defaults(compiled: SQLCompiler) -> dict[str, Any]:
    """What SQLAlchemy would fill in for the columns an INSERT or UPDATE leaves out."""
    found: dict[str, Any] = {}
    for columns, kind in (
        (compiled.insert_prefetch, "default"),
        (compiled.update_prefetch, "onupdate"),
    ):
        for column in columns:
            default = getattr(column, kind)
            if default is None:
                continue
            if default.is_scalar:
                found[column.key] = default.arg
            elif default.is_callable:  # wrapped by SQLAlchemy to take an execution context
                found[column.key] = _Default(functools.partial(default.arg, None))
            else:
                raise _Unsupported
    return found


class _Unsupported(Exception):
    """The statement needs SQLAlchemy's execution (e.g. an expanding IN list)."""


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    compiled = cast(ClauseElement, statement).compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    if compiled.positiontup is None or "__[POSTCOMPILE" in compiled.string:
        raise _Unsupported
    in_place = tuple(compiled.positiontup)
    names = tuple(dict.fromkeys(in_place))
    processors = compiled._bind_processors
    defaults = _column_defaults(compiled)
    fixed = []
    for name in names:
        bind = compiled.binds[name]
        if bind.expanding or bind.callable is not None:
            raise _Unsupported
        if name in defaults:
            fixed.append(defaults[name])
        else:
            fixed.append(_REQUIRED if bind.required else bind.effective_value)
    columns = compiled._result_columns
    row: Callable[[Sequence[Any]], Any] | None = None
    if columns:
        # tuple.__new__ straight from C: the named tuple's own __new__ is a Python function,
        # a frame per row (a tenth of /connect suggest's time, its candidates being many).
        row = functools.partial(
            tuple.__new__, _ROW_TYPE("Row", [key for key, *_ in columns], rename=True)
        )
    converters = (type_._cached_result_processor(dialect, None) for *_, type_ in columns)
    return _Compiled(
        sql=compiled.string,
        names=names,
        to_driver=tuple(cast(_Processor, processors.get(name)) for name in names),
        fixed=tuple(fixed),
        places=tuple(map(names.index, in_place)) if len(names) < len(in_place) else None,
        from_driver=tuple(
            (position, convert)
            for position, convert in enumerate(converters)
            if convert is not None
        ),
        row=row,
    )


class _RowsResult:
    """A result already fetched: rows as named tuples (``row.name``, ``row[0]``, unpacking)."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def all(self) -> list[Any]:
        return self._rows

    def first(self) -> Any | None:
        return self._rows[0] if self._rows else None

    def one_or_none(self) -> Any | None:
        if len(self._rows) > 1:
            raise exc.MultipleResultsFound("Multiple rows were found when one or none was required")
        return self.first()

    def one(self) -> Any:
        row = self.one_or_none()
        if row is None:
            raise exc.NoResultFound("No row was found when one was required")
        return row

    def scalar(self) -> Any:
        row = self.first()
        return row[0] if row is not None else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any:
        row = self.one_or_none()
        return row[0] if row is not None else None

    def scalars(self) -> Iterator[Any]:
        return (row[0] for row in self._rows)


class Prepared(Generic[_S]):
    """A statement (or one per dialect) that the hot paths run many times a second."""

    def __init__(self, statement: _S | PerDialect[_S]) -> None:
        self._statement = statement
        self._compiled: dict[str, _Compiled | None] = {}

    def on(self, unit: Rows) -> _S:
        """The statement itself, for SQLAlchemy (e.g. to run it on PostgreSQL)."""
        statement = self._statement
        return statement.on(unit) if isinstance(statement, PerDialect) else statement

    async def execute(self, unit: Rows, params: Mapping[str, Any]) -> Result:
        direct = await self._direct(unit)
        if direct is None:
            return await unit.execute(self.on(unit), params)
        connection, compiled, adapter = direct
        if adapter is None:
            return _run_on_sqlite(connection, compiled, params)
        return await _run_on_asyncpg(connection, adapter, compiled, params)

    async def execute_many(self, unit: Rows, params: Sequence[Mapping[str, Any]]) -> None:
        """The statement once per set of parameters (no rows back)."""
        if not params:
            return
        direct = await self._direct(unit)
        if direct is None:
            await unit.execute(self.on(unit), list(params))
            return
        connection, compiled, adapter = direct
        if adapter is None:
            _run_many_on_sqlite(connection, compiled, params)
        else:
            await _run_many_on_asyncpg(connection, adapter, compiled, params)

    async def _direct(self, unit: Rows) -> tuple[Connection, _Compiled, Any | None] | None:
        """Where to run the statement straight on the driver: the unit's connection (its
        transaction begun), the compiled statement, and the asyncpg adapter (None on SQLite).
        None: let SQLAlchemy run it (another driver, an unsupported statement, echo on)."""
        dialect = dialect_of(unit)
        if dialect.name != "sqlite" and dialect.driver != "asyncpg":
            return None
        compiled = self._compiled_for(unit, dialect)
        if compiled is None or _echoing(unit):
            return None
        connection = unit if isinstance(unit, AsyncConnection) else await unit.connection()
        sync = connection.sync_connection
        assert sync is not None  # an AsyncConnection in use has its sync side
        adapter = None
        if dialect.name != "sqlite":
            adapter = asyncpg_adapter(sync)
            if adapter is None:  # not the adapter this path knows
                return None
        if not sync.in_transaction():
            # As SQLAlchemy's first statement would: on SQLite this sends the BEGIN (see
            # database._on_begin); asyncpg's goes out just before the statement (_on_asyncpg).
            sync.begin()
        return sync, compiled, adapter

    def _compiled_for(self, unit: Rows, dialect: Dialect) -> _Compiled | None:
        if dialect.name not in self._compiled:
            try:
                self._compiled[dialect.name] = _compile(self.on(unit), dialect)
            except _Unsupported:
                self._compiled[dialect.name] = None
        return self._compiled[dialect.name]


def _echoing(unit: Rows) -> bool:
    """``[database] echo = true``: SQLAlchemy logs each statement it runs, so let it run them."""
    engine = unit.sync_engine if isinstance(unit, AsyncConnection) else unit.get_bind().engine
    return bool(engine.echo)


def _cursor(connection: Connection) -> sqlite3.Cursor:
    """The driver's cursor, in the unit of work's transaction (``Prepared._direct`` began it)."""
    driver = connection.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver.cursor()


def _announce(connection: Connection, cursor: Any, sql: str, arguments: Any, many: bool) -> None:
    """Tell ``before_cursor_execute`` listeners (tests and benchmarks read the SQL there)."""
    if connection._has_events or connection.engine._has_events:
        connection.dispatch.before_cursor_execute(connection, cursor, sql, arguments, None, many)


def _run_on_sqlite(
    connection: Connection, compiled: _Compiled, params: Mapping[str, Any]
) -> _RowsResult:
    arguments = compiled.arguments(params)
    cursor = _cursor(connection)
    try:
        _announce(connection, cursor, compiled.sql, arguments, False)
        cursor.execute(compiled.sql, arguments)
        raw = cursor.fetchall() if compiled.row is not None else []
        return _RowsResult(compiled.rows(raw), cursor.rowcount)
    except sqlite3.Error as error:  # as SQLAlchemy would have raised it
        raise exc.DBAPIError.instance(compiled.sql, arguments, error, sqlite3.Error) from error
    finally:
        cursor.close()


def _run_many_on_sqlite(
    connection: Connection, compiled: _Compiled, params: Sequence[Mapping[str, Any]]
) -> None:
    arguments = [compiled.arguments(one) for one in params]
    cursor = _cursor(connection)
    try:
        _announce(connection, cursor, compiled.sql, arguments, True)
        cursor.executemany(compiled.sql, arguments)
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance(compiled.sql, arguments, error, sqlite3.Error) from error
    finally:
        cursor.close()


# The asyncpg adapter's own parts this path uses (SQLAlchemy 2.1): its prepared statements,
# its lazily begun transaction and its error translation. Without them (another SQLAlchemy),
# statements simply go through SQLAlchemy.
_ADAPTER_PARTS = (
    "_execute_mutex",
    "_transaction",
    "_start_transaction",
    "_prepare",
    "_invalidate_schema_cache_asof",
    "_handle_exception",
)
_STATUS_COUNT = re.compile(r"(?:SELECT|UPDATE|DELETE|INSERT \d+) (\d+)")
_KNOWN_ADAPTERS: dict[type, bool] = {}


def asyncpg_adapter(connection: Connection) -> Any | None:
    """SQLAlchemy's asyncpg adapter under the connection, if it has the parts used here."""
    adapter = connection.connection.dbapi_connection
    kind = type(adapter)
    if kind not in _KNOWN_ADAPTERS:
        _KNOWN_ADAPTERS[kind] = all(hasattr(adapter, part) for part in _ADAPTER_PARTS)
    return adapter if _KNOWN_ADAPTERS[kind] else None


async def _run_on_asyncpg(
    connection: Connection, adapter: Any, compiled: _Compiled, params: Mapping[str, Any]
) -> _RowsResult:
    """The statement on the asyncpg connection under SQLAlchemy's, in its transaction.

    What SQLAlchemy does around each statement on PostgreSQL (parameters, a greenlet switch, an
    execution context, a result, a cursor emulation) cost about as much Python as asyncpg's
    whole round trip; here the statement goes straight to asyncpg's prepared statement (the
    one SQLAlchemy's adapter caches for that SQL), in the transaction SQLAlchemy began.
    """
    arguments = compiled.arguments(params)

    async def fetch(statement: Any) -> _RowsResult:
        records = await statement.fetch(*arguments)
        counted = _STATUS_COUNT.match(statement.get_statusmsg() or "")
        return _RowsResult(compiled.rows(records), int(counted.group(1)) if counted else -1)

    return await _on_asyncpg(connection, adapter, compiled.sql, arguments, fetch, many=False)


async def _run_many_on_asyncpg(
    connection: Connection,
    adapter: Any,
    compiled: _Compiled,
    params: Sequence[Mapping[str, Any]],
) -> None:
    arguments = [compiled.arguments(one) for one in params]

    async def run(statement: Any) -> None:
        await statement.executemany(arguments)

    await _on_asyncpg(connection, adapter, compiled.sql, arguments, run, many=True)


async def _on_asyncpg(
    connection: Connection,
    adapter: Any,
    sql: str,
    arguments: Any,
    run: Callable[[Any], Awaitable[_T]],
    *,
    many: bool,
) -> _T:
    """``run`` on the statement's asyncpg prepared statement, in the unit's transaction."""
    _announce(connection, None, sql, arguments, many)
    dbapi = connection.dialect.loaded_dbapi
    try:
        async with adapter._execute_mutex:
            if adapter._transaction is None:
                await adapter._start_transaction()
            try:
                statement, _ = await adapter._prepare(sql, adapter._invalidate_schema_cache_asof)
                return await run(statement)
            except Exception as error:
                adapter._handle_exception(error)  # raises it as the adapter's DB-API error
                raise
    except dbapi.Error as error:  # as SQLAlchemy would have raised it
        invalidated = connection.dialect.is_disconnect(error, adapter, None)
        if invalidated and not connection.invalidated:
            # As SQLAlchemy does: every pooled connection as old as this one is dropped too
            # (the server went away for all of them), then this one.
            connection.engine.pool._invalidate(connection.connection, error)
            connection.invalidate(error)
        raise exc.DBAPIError.instance(
            sql, arguments, error, dbapi.Error, connection_invalidated=invalidated
        ) from error
