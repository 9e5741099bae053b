"""/ask's routing reads every signal in one statement, and each part of it is an index search.

SQLite's query planner says so for the exact statement routing sends (PostgreSQL prefers
sequential scans on tiny test tables, as ``test_progress_query_plan`` says).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bot.db import Database, utcnow
from bot.db.migrate import upgrade
from bot.services.asks import AskService, parse_ask, record_answers
from bot.services.interests import IntroAnswers
from bot.services.introductions import IntroductionService
from bot.services.members import Actor
from bot.services.share_input import parse_share
from bot.services.sharing import SharingService
from tests.services.clock import answer_ticket


async def test_routing_reads_its_signals_in_one_statement_of_index_searches(
    tmp_path: Path,
) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'plan.sqlite3'}")
    now = utcnow()
    try:
        await upgrade(database)
        introductions = IntroductionService(database)
        for user in (11, 12, 13):
            await introductions.introduce(
                Actor(1, "Server", user, f"M{user}"),
                IntroAnswers("Teacher", "science", "", "", "assessment"),
                channel_id=5,
                answer=answer_ticket(now),
            )
        asker = Actor(1, "Server", 11, "M11")
        await SharingService(database).share(
            Actor(1, "Server", 12, "M12"),
            5,
            parse_share("https://a.org/x", tags="assessment"),
            answer=answer_ticket(now),
        )
        asks = AskService(database)
        asked = await asks.ask(
            asker, parse_ask("Rubrics?", "assessment"), channel_id=5, answer=answer_ticket(now)
        )
        async with database.write() as session:
            await record_answers(session, 1, [(asked.ask.id, 11, 601, 13, now - timedelta(days=1))])

        statements: list[tuple[str, Any]] = []

        def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                statements.append((statement, parameters))

        event.listen(database.engine.sync_engine, "before_cursor_execute", remember)
        helpers = await asks.route(asker, parse_ask("Grading labs?", "assessment"))
        event.remove(database.engine.sync_engine, "before_cursor_execute", remember)

        assert {h.member_id for h in helpers} == {12, 13}
        signals = [s for s, _ in statements if "member_interests" in s and "resource_tags" in s]
        assert len(signals) == 1, "offers, shares, tag answers and recent answers: one read"
        async with database.engine.connect() as connection:
            for statement, parameters in statements:
                plan = await connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement, parameters
                )
                details = [row[-1] for row in plan]
                # A subquery's own rows (anon_N) are read whole; a table never is.
                scans = [
                    d
                    for d in details
                    if d.startswith("SCAN") and "USING" not in d and "anon_" not in d
                ]
                assert scans == [], (statement, details)
                # Who has the tags is searched by tag: by server alone it read every interest
                # in the server (10 ms a /ask at 20,000 members).
                by_server = [d for d in details if "member_interests" in d and "tag=" not in d]
                assert by_server == [], (statement, details)
    finally:
        await database.dispose()
