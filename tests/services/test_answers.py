"""Owed answers are kept only while Discord would still accept them, and never show the token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.db import Database, PendingAnswer
from bot.services.answers import PendingAnswers
from bot.services.members import Actor, touch_actor
from tests.services.clock import Clock, answer_ticket

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
ANA = Actor(1001, "Demo Educators", 11, "Ana")


async def test_answers_are_deliverable_for_15_minutes_then_forgotten(database: Database) -> None:
    clock = Clock(NOW)
    answers = PendingAnswers(database, clock=clock)
    async with database.write() as session:
        await touch_actor(session, ANA, NOW)
        for age in (0, 10, 16):  # minutes since the member ran the command
            await PendingAnswers.store(
                session,
                server_id=ANA.server_id,
                member_id=ANA.user_id,
                kind="share",
                subject_id=age,
                outcome="new",
                ticket=answer_ticket(NOW - timedelta(minutes=age)),
            )
    owed = await answers.unexpired()
    assert sorted(answer.subject_id for answer in owed) == [0, 10]
    assert all("interaction-token" not in repr(answer) for answer in owed)

    await answers.forget([owed[0].id or 0])  # delivered; and the expired one goes too
    clock.now += timedelta(minutes=6)  # the 10-minute-old one has expired meanwhile
    assert await answers.unexpired() == []
    await answers.forget(())
    async with database.read() as session:
        assert await session.scalar(select(func.count()).select_from(PendingAnswer)) == 0
