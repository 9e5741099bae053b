"""/progress stays fast at any size because every query it runs is an index search.

SQLite's query planner says so for the exact statements ProgressService sends: none of them
scans a whole table. (PostgreSQL's planner prefers sequential scans on tiny test tables, so
its plan is shown by bench/progress_at_scale.py on a large database instead.)
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert

from bot.db import (
    ActivityEvent,
    ConversationWeek,
    Database,
    Member,
    MemberInterest,
    Server,
    Tie,
    utcnow,
)
from bot.db.migrate import upgrade
from bot.services.conversations import week_of
from bot.services.members import Actor
from bot.services.progress import ProgressService
from bot.services.share_input import parse_share
from bot.services.sharing import SharingService
from bot.wiring import build_services
from tests.services.clock import answer_ticket
from tests.services.query_plans import SCAN_CONSTANT, plans, selects_sent, table_scans


async def test_progress_queries_search_indexes_instead_of_scanning(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'plan.sqlite3'}")
    try:
        await upgrade(database)
        actor = Actor(1, "Server", 11, "Ana")
        # No ANALYZE: without statistics SQLite plans as if every table were large.
        await SharingService(database).share(
            actor, 5, parse_share("https://a.org/x"), answer=answer_ticket(utcnow())
        )

        with selects_sent(database) as statements:
            await ProgressService(database).progress(1, 11)

        assert len(statements) >= 1
        for statement, details in await plans(database, statements):
            assert table_scans(details) == [], (statement, details)
    finally:
        await database.dispose()


async def test_coach_and_suggestions_search_the_members_own_rows(tmp_path: Path) -> None:
    """Every statement behind /progress's next step and /connect suggest searches an index on
    the member (or the pair), never a whole server's ties or conversation weeks: an OR of
    ``member_a = ?`` and ``member_b = ?`` made SQLite search ``(server_id=?)`` alone."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'plan.sqlite3'}")
    now = utcnow()
    try:
        await upgrade(database)
        async with database.write() as session:
            await session.execute(insert(Server), [{"id": 1, "name": "Server"}])
            await session.execute(
                insert(Member),
                [
                    {"server_id": 1, "user_id": user, "display_name": f"M{user}"}
                    for user in (11, 12, 13)
                ],
            )
            await session.execute(
                insert(MemberInterest),
                [
                    {"server_id": 1, "user_id": user, "kind": "subject", "tag": "science"}
                    for user in (11, 12, 13)
                ],
            )
            await session.execute(
                insert(ActivityEvent),
                [
                    {
                        "server_id": 1,
                        "member_id": member,
                        "other_member_id": other,
                        "kind": "reply",
                        "habit": "connect",
                        "occurred_at": now - timedelta(days=days),
                    }
                    for member, other, days in ((12, 11, 1), (11, 12, 2), (13, 11, 20))
                ],
            )
            pair = {"server_id": 1, "member_a": 11, "member_b": 12}
            await session.execute(
                insert(Tie), [{**pair, "first_at": now, "last_at": now, "a_to_b": 1, "b_to_a": 1}]
            )
            await session.execute(insert(ConversationWeek), [{**pair, "week": week_of(now)}])

        services = build_services(database)
        with selects_sent(database) as statements:
            for user in (11, 12):
                found = await services.progress.progress(1, user)
                await services.coach.next_action_for(found)
                await services.suggestions.suggest(1, user, count=6)
                await services.converse.worth_continuing(1, user)

        searched = {" ".join(statement.split()) for statement, _ in statements}
        assert any("FROM ties" in s for s in searched)
        assert any("FROM conversation_weeks" in s for s in searched)
        for statement, details in await plans(database, statements):
            scans = [
                d
                for d in details
                if (
                    d.startswith("SCAN")
                    and " ROWS" not in d
                    and "anon_" not in d
                    and d != SCAN_CONSTANT
                )
                or d.endswith("(server_id=?)")
            ]
            assert scans == [], (statement, details)
    finally:
        await database.dispose()
