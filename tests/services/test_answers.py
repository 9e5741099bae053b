"""Owed answers are kept only while Discord would still accept them, and never show the token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.db import Database, PendingAnswer
from bot.services.answers import OWN_GRACE, OWNER_GRACE, PendingAnswers
from bot.services.members import Actor, touch_actor
from tests.services.clock import Clock, answer_ticket

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
ANA = Actor(1001, "Demo Educators", 11, "Ana")


async def test_answers_are_deliverable_for_15_minutes_then_forgotten(database: Database) -> None:
    clock = Clock(NOW)
    answers = PendingAnswers(database, clock=clock)
    async with database.write() as session:
        await touch_actor(session, ANA, NOW)
        for age in (1, 10, 16):  # minutes since the member ran the command
            await PendingAnswers.store(
                session,
                server_id=ANA.server_id,
                member_id=ANA.user_id,
                kind="share",
                subject_id=age,
                outcome="new",
                ticket=answer_ticket(NOW - timedelta(minutes=age)),
            )
    owed = await answers.unexpired("main/run1")
    assert sorted(answer.subject_id for answer in owed) == [1, 10]
    assert all("interaction-token" not in repr(answer) for answer in owed)

    await answers.forget([owed[0].id or 0])  # delivered; and the expired one goes too
    clock.now += timedelta(minutes=6)  # the 10-minute-old one has expired meanwhile
    assert await answers.unexpired("main/run1") == []
    await answers.forget(())
    async with database.read() as session:
        assert await session.scalar(select(func.count()).select_from(PendingAnswer)) == 0


async def test_another_workers_answer_is_left_to_it_until_it_had_its_chance(
    database: Database,
) -> None:
    clock = Clock(NOW)
    answers = PendingAnswers(database, clock=clock)
    async with database.write() as session:
        await touch_actor(session, ANA, NOW)
        for subject, owner in enumerate(("main/run1", "main/run0", "shard-1/run7")):
            await PendingAnswers.store(
                session,
                server_id=ANA.server_id,
                member_id=ANA.user_id,
                kind="share",
                subject_id=subject,
                outcome="new",
                ticket=answer_ticket(NOW, owner=owner),
            )
    # My slot's last run's at once (it stopped: I am its restart); mine once my command had
    # its chance; a live neighbour's not yet.
    assert [a.subject_id for a in await answers.unexpired("main/run1")] == [1]
    clock.now += OWN_GRACE + timedelta(seconds=1)
    assert [a.subject_id for a in await answers.unexpired("main/run1")] == [0, 1]
    clock.now += OWNER_GRACE + timedelta(seconds=1)  # the neighbour never answered: step in
    assert [a.subject_id for a in await answers.unexpired("main/run1")] == [0, 1, 2]
