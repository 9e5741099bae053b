"""Hot statements run straight on SQLite's driver answer exactly as SQLAlchemy would.

``Prepared`` skips SQLAlchemy's per-execution machinery on SQLite; these check, on every backend,
that what comes back (and what goes in) is the same: converted values (aware datetimes), column
defaults filled in, fixed values, a parameter used twice, several rows, rows inserted many at
once, and a broken constraint raised as SQLAlchemy's error with nothing of the unit kept.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import bindparam, exc, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db import Database, Member, Server, utcnow
from bot.db.prepared import Prepared, asyncpg_adapter
from bot.db.statements import table_of
from bot.errors import DatabaseUnavailable
from tests.services.postgres_restart import drop_other_connections

_SERVERS = table_of(Server)
_MEMBERS = table_of(Member)
# created_at and challenge_selection are left to their column defaults.
_ADD_SERVER = Prepared(
    insert(_SERVERS)
    .values(id=bindparam("id"), name=bindparam("name"))
    .returning(_SERVERS.c.id, _SERVERS.c.created_at, _SERVERS.c.challenge_selection)
)
_ADD_MEMBER = Prepared(
    insert(_MEMBERS).values(
        server_id=bindparam("server_id"),
        user_id=bindparam("user_id"),
        display_name=bindparam("name"),
        first_seen_at=bindparam("at"),
        last_seen_at=bindparam("at"),
    )
)
# "since" stands at two places, either side of another parameter.
_SEEN_SINCE = Prepared(
    select(_MEMBERS.c.user_id, _MEMBERS.c.display_name, _MEMBERS.c.last_seen_at)
    .where(_MEMBERS.c.first_seen_at > bindparam("since"))
    .where(_MEMBERS.c.server_id == bindparam("server_id"))
    .where(_MEMBERS.c.last_seen_at > bindparam("since"))
    .where(_MEMBERS.c.left_at.is_(None))
    .order_by(_MEMBERS.c.user_id)
    .limit(2)
)


async def test_prepared_statements_answer_like_sqlalchemy(database: Database) -> None:
    now = utcnow()
    async with database.write_rows() as unit:
        added = (await _ADD_SERVER.execute(unit, {"id": 7, "name": "Teachers"})).one()
        await _ADD_MEMBER.execute_many(
            unit,
            [
                {"server_id": 7, "user_id": user, "name": f"M{user}", "at": now - timedelta(days=d)}
                for user, d in ((1, 1), (2, 2), (3, 40), (4, 3))
            ],
        )
    # Defaults filled in as SQLAlchemy would: the creation time is now, the selection its default.
    assert added.id == 7
    assert added.created_at.tzinfo is not None
    assert abs(added.created_at - now) < timedelta(minutes=1)
    assert added.challenge_selection == "rotate"

    params = {"server_id": 7, "since": now - timedelta(days=30)}
    async with database.read_rows() as unit:
        prepared = (await _SEEN_SINCE.execute(unit, params)).all()
        through_sqlalchemy = (await unit.execute(_SEEN_SINCE.on(unit), params)).all()
        count = await unit.scalar(select(func.count()).select_from(_MEMBERS))
    assert [tuple(row) for row in prepared] == [tuple(row) for row in through_sqlalchemy]
    assert [(row.user_id, row.display_name) for row in prepared] == [(1, "M1"), (2, "M2")]
    assert prepared[0].last_seen_at == now - timedelta(days=1)  # aware, to the microsecond
    assert count == 4


async def test_a_broken_constraint_is_sqlalchemys_error_and_the_unit_is_undone(
    database: Database,
) -> None:
    async with database.write_rows() as unit:
        await _ADD_SERVER.execute(unit, {"id": 8, "name": "First"})

    async def add_two() -> None:
        async with database.write_rows() as unit:
            await _ADD_SERVER.execute(unit, {"id": 9, "name": "Kept?"})
            await _ADD_SERVER.execute(unit, {"id": 8, "name": "Twice"})

    with pytest.raises(exc.IntegrityError):
        await add_two()
    async with database.read_rows() as unit:
        names = (await unit.execute(select(_SERVERS.c.name).order_by(_SERVERS.c.id))).scalars()
        assert list(names) == ["First"]


async def test_a_missing_parameter_is_refused_before_anything_runs(database: Database) -> None:
    async with database.write_rows() as unit:
        with pytest.raises(exc.ArgumentError):
            await _ADD_SERVER.execute(unit, {"id": 10})


async def test_a_naive_datetime_is_refused_as_sqlalchemy_refuses_it(database: Database) -> None:
    naive = utcnow().replace(tzinfo=None)
    async with database.read_rows() as unit:
        with pytest.raises((ValueError, exc.StatementError), match="naive datetime"):
            await _SEEN_SINCE.execute(unit, {"server_id": 7, "since": naive})


async def test_a_statement_past_its_timeout_is_the_database_not_answering(
    database: Database,
) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite has no statement timeout (a locked database: test_inline_sqlite)")
    patient = Database(database.url, statement_timeout=0.2)
    try:
        sleep = Prepared(select(func.pg_sleep(bindparam("seconds"))))
        with pytest.raises(DatabaseUnavailable):
            async with patient.read_rows() as unit:
                await sleep.execute(unit, {"seconds": 2})
        async with patient.read_rows() as unit:  # the pool's connection still works
            assert (await sleep.execute(unit, {"seconds": 0})).all()
    finally:
        await patient.dispose()


async def test_on_postgresql_prepared_statements_go_straight_to_asyncpg(
    database: Database,
) -> None:
    # The fast path leans on SQLAlchemy's asyncpg adapter; after an upgrade that changed it,
    # statements would quietly go through SQLAlchemy again (correct, but slower): say so here.
    if database.is_sqlite:
        pytest.skip("PostgreSQL only")
    async with database.read_rows() as unit:
        sync = unit.sync_connection
        assert sync is not None
        assert asyncpg_adapter(sync) is not None


async def test_after_postgresql_drops_the_connections_one_try_fails_and_the_next_works(
    database: Database,
) -> None:
    if database.is_sqlite:
        pytest.skip("PostgreSQL only")
    patient = Database(database.url)

    async def look(unit: AsyncConnection) -> list[Any]:
        return list((await _SEEN_SINCE.execute(unit, {"server_id": 1, "since": utcnow()})).all())

    try:
        async with patient.read_rows() as first, patient.read_rows() as second:
            for unit in (first, second):  # two pooled connections
                await look(unit)
        await drop_other_connections(database)
        # In use a moment ago: handed out unchecked, so the member is told to try again...
        with pytest.raises(DatabaseUnavailable):
            async with patient.read_rows() as unit:
                await look(unit)
        # ...and the retry gets a new connection, not the other dropped one.
        async with patient.read_rows() as unit:
            assert await look(unit) == []
    finally:
        await patient.dispose()
