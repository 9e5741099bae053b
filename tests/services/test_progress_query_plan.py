"""/progress stays fast at any size because every query it runs is an index search.

SQLite's query planner says so for the exact statements ProgressService sends: none of them
scans a whole table. (PostgreSQL's planner prefers sequential scans on tiny test tables, so
its plan is shown by bench/progress_at_scale.py on a large database instead.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event

from bot.db import Database, utcnow
from bot.db.migrate import upgrade
from bot.services.members import Actor
from bot.services.progress import ProgressService
from bot.services.share_input import parse_share
from bot.services.sharing import SharingService
from tests.services.clock import answer_ticket


async def test_progress_queries_search_indexes_instead_of_scanning(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'plan.sqlite3'}")
    try:
        await upgrade(database)
        actor = Actor(1, "Server", 11, "Ana")
        # No ANALYZE: without statistics SQLite plans as if every table were large.
        await SharingService(database).share(
            actor, 5, parse_share("https://a.org/x"), answer=answer_ticket(utcnow())
        )

        statements: list[tuple[str, Any]] = []

        def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                statements.append((statement, parameters))

        event.listen(database.engine.sync_engine, "before_cursor_execute", remember)
        await ProgressService(database).progress(1, 11)
        event.remove(database.engine.sync_engine, "before_cursor_execute", remember)

        assert len(statements) >= 2
        async with database.engine.connect() as connection:
            for statement, parameters in statements:
                plan = await connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement, parameters
                )
                details = [row[-1] for row in plan]
                scans = [d for d in details if d.startswith("SCAN") and "USING" not in d]
                assert scans == [], (statement, details)
    finally:
        await database.dispose()
