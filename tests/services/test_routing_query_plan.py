"""/ask's routing reads every signal in one statement, and each part of it is an index search.

SQLite's query planner says so for the exact statement routing sends (PostgreSQL prefers
sequential scans on tiny test tables, as ``test_progress_query_plan`` says).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.db import Database, utcnow
from bot.db.migrate import upgrade
from bot.services.asks import AskService, parse_ask, record_answers
from bot.services.interests import IntroAnswers
from bot.services.introductions import IntroductionService
from bot.services.members import Actor
from bot.services.share_input import parse_share
from bot.services.sharing import SharingService
from tests.services.clock import answer_ticket
from tests.services.query_plans import plans, selects_sent, table_scans


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

        with selects_sent(database) as statements:
            helpers = await asks.route(asker, parse_ask("Grading labs?", "assessment"))

        assert {h.member_id for h in helpers} == {12, 13}
        signals = [s for s, _ in statements if "member_interests" in s and "resource_tags" in s]
        assert len(signals) == 1, "offers, shares, tag answers and recent answers: one read"
        for statement, details in await plans(database, statements):
            assert table_scans(details) == [], (statement, details)
            # Who has the tags is searched by tag: by server alone it read every interest
            # in the server (10 ms a /ask at 20,000 members).
            by_server = [d for d in details if "member_interests" in d and "tag=" not in d]
            assert by_server == [], (statement, details)
    finally:
        await database.dispose()
