"""PostgreSQL's pooled connections: a quiet one is checked before a member's command uses it,
and a busy one is handed out directly (``bot.db.postgres_pool``).

A connection taken directly must never be one that needs waiting on: a stray "coroutine was
never awaited" (a reconnect attempted without a greenlet) fails these tests.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db import Database, postgres_pool
from bot.errors import DatabaseUnavailable
from tests.services.postgres_restart import drop_other_connections

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

_BACKEND = text("SELECT pg_backend_pid()")


@pytest.fixture
async def patient(database: Database) -> AsyncIterator[Database]:
    """A Database of its own on the test's PostgreSQL: its pool is the one under test."""
    if database.is_sqlite:
        pytest.skip("PostgreSQL only")
    own = Database(database.url)
    try:
        yield own
    finally:
        await own.dispose()


async def _backend(database: Database) -> int:
    async with database.read_rows() as unit:
        return int((await unit.execute(_BACKEND)).scalar_one())


def _refuse_the_async_way(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(self: AsyncConnection, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("took its connection through the async engine")

    monkeypatch.setattr(AsyncConnection, "start", refused)


async def test_a_busy_pooled_connection_is_handed_out_directly_and_reused(
    patient: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await _backend(patient)
    _refuse_the_async_way(monkeypatch)
    # Reads, and a write of one statement, run on the connection just given back.
    assert await _backend(patient) == first
    async with patient.write_rows(one_statement=True) as unit:
        assert (await unit.execute(_BACKEND)).scalar_one() == first


async def test_a_unit_in_a_transaction_takes_its_connection_the_async_way(
    patient: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _backend(patient)
    _refuse_the_async_way(monkeypatch)
    with pytest.raises(AssertionError, match="async engine"):
        async with patient.write_rows() as unit:  # its COMMIT awaits
            await unit.execute(_BACKEND)


async def test_a_quiet_connection_is_checked_and_kept_when_it_still_works(
    patient: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await _backend(patient)
    monkeypatch.setattr(postgres_pool, "IDLE_BEFORE_PING", 0.0)  # every one has been quiet
    assert await _backend(patient) == first  # pinged, not reopened


async def test_a_connection_postgresql_dropped_while_quiet_is_replaced_before_a_read_uses_it(
    patient: Database, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await _backend(patient)
    await drop_other_connections(database)
    monkeypatch.setattr(postgres_pool, "IDLE_BEFORE_PING", 0.0)
    assert await _backend(patient) != first  # the first try works, on a new connection


async def test_after_a_dropped_connection_every_older_one_is_reopened_the_async_way(
    patient: Database, database: Database
) -> None:
    async with patient.read_rows() as one, patient.read_rows() as other:
        older = {int((await unit.execute(_BACKEND)).scalar_one()) for unit in (one, other)}
    await drop_other_connections(database)
    with pytest.raises(DatabaseUnavailable):  # in use a moment ago: the first try fails...
        await _backend(patient)
    # ...and each connection after it is a new one, however it was taken.
    async with patient.read_rows() as one, patient.read_rows() as other:
        newer = {int((await unit.execute(_BACKEND)).scalar_one()) for unit in (one, other)}
    assert not newer & older
    assert await _backend(patient) in newer  # and then handed out directly again


async def test_connections_past_the_pools_size_are_closed_cleanly_whichever_way_they_came(
    patient: Database, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    # One unit more than the pool keeps: the last one given back finds the pool full, and the
    # pool closes it, which awaits PostgreSQL even for a connection taken directly.
    kept = patient.engine.sync_engine.pool.size()  # type: ignore[attr-defined]
    async with AsyncExitStack() as units:
        for _ in range(kept):  # opened, then kept idle...
            await units.enter_async_context(patient.read_rows())
    async with AsyncExitStack() as units:  # ...then all taken directly, and one more opened
        opened = [await units.enter_async_context(patient.read_rows()) for _ in range(kept + 1)]
        backends = {int((await unit.execute(_BACKEND)).scalar_one()) for unit in opened}
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    async with database.read_rows() as unit:
        alive = (
            await unit.execute(
                text("SELECT pid FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                {"pids": list(backends)},
            )
        ).all()
    assert len(alive) == kept  # the one past the pool's size was closed, the rest kept
