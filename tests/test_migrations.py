"""The migrations build exactly the models' schema, and can be taken back down."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection

from bot.db import ActivityEvent, Base, Database, Member, OutboxPost, Resource, ResourceTag, utcnow
from bot.db.migrate import MigrationError, downgrade, is_at_head, schema_change, upgrade
from bot.services.members import Actor
from bot.services.share_input import parse_share
from bot.services.sharing import SharingService
from tests.conftest import environment_without_bot_settings
from tests.services.clock import answer_ticket


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def _drift(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def test_empty_database_upgrades_to_head_and_back_to_base(empty_database_url: str) -> None:
    database = Database(empty_database_url)
    try:
        await upgrade(database)
        async with database.engine.connect() as connection:
            assert await connection.run_sync(_tables) == set(Base.metadata.tables)
            assert await connection.run_sync(_drift) == []
        await upgrade(database)  # already at head: nothing to do, nothing breaks
        await downgrade(database, "base")
        async with database.engine.connect() as connection:
            assert await connection.run_sync(_tables) == set()
    finally:
        await database.dispose()


def _rebuild_members_table(connection: Connection) -> None:
    """What alembic does on SQLite for most ALTERs: copy the table, drop the old one."""
    operations = Operations(MigrationContext.configure(connection))
    sqlite = connection.dialect.name == "sqlite"
    with operations.batch_alter_table("members", recreate="always" if sqlite else "auto") as batch:
        batch.add_column(sa.Column("probe", sa.Integer(), nullable=True))


async def test_changing_a_table_keeps_the_rows_that_depend_on_it(empty_database_url: str) -> None:
    database = Database(empty_database_url)
    try:
        await upgrade(database)
        actor = Actor(1, "Server", 11, "Ana")
        await SharingService(database).share(
            actor, 5, parse_share("https://a.org/x", tags="m"), answer=answer_ticket(utcnow())
        )
        async with schema_change(database) as connection:
            await connection.run_sync(_rebuild_members_table)
        async with database.read() as session:
            for model in (Member, Resource, ResourceTag, ActivityEvent):
                count = await session.scalar(select(func.count()).select_from(model))
                assert count == 1, model.__name__
    finally:
        await database.dispose()


async def test_a_migration_that_breaks_references_is_not_committed(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'broken.sqlite3'}")
    try:
        await upgrade(database)
        await SharingService(database).share(
            Actor(1, "Server", 11, "Ana"),
            5,
            parse_share("https://a.org/x"),
            answer=answer_ticket(utcnow()),
        )
        with pytest.raises(MigrationError):
            async with schema_change(database) as connection:
                await connection.execute(sa.text("DELETE FROM members"))
        async with database.read() as session:
            assert await session.scalar(select(func.count()).select_from(Member)) == 1
    finally:
        await database.dispose()


async def test_two_processes_migrating_one_new_database_take_turns(empty_database_url: str) -> None:
    """Shard processes starting together: each runs `pln-coach db upgrade` on the same database.

    (Separate processes on purpose: alembic keeps its migration context in module globals, so
    two migrations interleaved in one event loop are not a situation that can happen.)
    """
    environment = environment_without_bot_settings() | {"PLN_DATABASE__URL": empty_database_url}
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "db",
            "upgrade",
            env=environment,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(3)
    ]
    outputs = await asyncio.gather(*(process.communicate() for process in processes))
    for process, (output, _) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output.decode()
    database = Database(empty_database_url)
    try:
        assert await is_at_head(database)
    finally:
        await database.dispose()


async def test_cards_move_into_the_outbox_and_back(empty_database_url: str) -> None:
    """0002: a posted card becomes a posted outbox post; one never posted stays failed."""
    database = Database(empty_database_url)
    try:
        await upgrade(database, "0001")
        async with database.engine.begin() as connection:
            await connection.execute(
                sa.text("INSERT INTO servers (id, name, created_at) VALUES (1, 'S', :now)"),
                {"now": utcnow()},
            )
            await connection.execute(
                sa.text(
                    "INSERT INTO members (server_id, user_id, display_name, first_seen_at, "
                    "last_seen_at) VALUES (1, 11, 'Ana', :now, :now)"
                ),
                {"now": utcnow()},
            )
            for rid, message in ((1, 900), (2, None)):
                await connection.execute(
                    sa.text(
                        "INSERT INTO resources (id, server_id, shared_by, url, url_hash, "
                        "channel_id, card_channel_id, card_message_id, created_at) VALUES "
                        "(:id, 1, 11, :url, :hash, 5, :card_channel, :message, :now)"
                    ),
                    {
                        "id": rid,
                        "url": f"https://a.org/{rid}",
                        "hash": str(rid),
                        "card_channel": 6 if message else None,
                        "message": message,
                        "now": utcnow(),
                    },
                )
        await upgrade(database)
        async with database.read() as session:
            posts = (
                await session.execute(
                    select(
                        OutboxPost.subject_id,
                        OutboxPost.state,
                        OutboxPost.channel_id,
                        OutboxPost.message_id,
                    ).order_by(OutboxPost.subject_id)
                )
            ).all()
        assert [tuple(post) for post in posts] == [(1, "posted", 6, 900), (2, "failed", 5, None)]

        await downgrade(database, "0001")
        async with database.engine.connect() as connection:
            cards = (
                await connection.execute(
                    sa.text(
                        "SELECT id, card_channel_id, card_message_id FROM resources ORDER BY id"
                    )
                )
            ).all()
        assert [tuple(card) for card in cards] == [(1, 6, 900), (2, None, None)]
    finally:
        await database.dispose()
