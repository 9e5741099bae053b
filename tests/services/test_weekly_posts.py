"""Deciding weekly posts, picking challenges, crediting completions and nudging: the services,
on each database backend, with a clock the test moves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from bot.challenges.bank import BANK
from bot.challenges.completions import ChallengeCompletions, Reported
from bot.challenges.schedules import PostKind, ScheduleService, Selection
from bot.challenges.selection import NO_REPEAT_WEEKS
from bot.challenges.weekly_posts import WeeklyPosts
from bot.db import (
    ActivityEvent,
    ChallengeCompletion,
    ChallengeWeek,
    Database,
    Member,
    OutboxPost,
    Server,
)
from bot.habits import HABIT_ORDER, EventKind, Habit
from bot.scheduling.weekly import Due, WeeklyTime, spread
from bot.services.asks import AskService
from bot.services.members import Actor
from bot.services.nudges import NudgeKind, NudgeService
from bot.services.recaps import RecapService
from tests.services.clock import Clock, answer_ticket

SERVER = 1 << 40
ADMIN, ANA, BEN = 501, 502, 503
NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)  # a Wednesday
MONDAY_9 = WeeklyTime(0, time(9), "Europe/Berlin")


def actor(user_id: int = ADMIN) -> Actor:
    return Actor(SERVER, "Demo Educators", user_id, f"user {user_id}")


async def scheduled(database: Database, clock: Clock) -> datetime:
    """A Monday 09:00 Berlin schedule; returns its first due time."""
    service = ScheduleService(database, clock)
    await service.set_schedule(
        actor(), PostKind.CHALLENGE, 77, MONDAY_9, answer=answer_ticket(clock.now)
    )
    return (await service.schedules(SERVER))[PostKind.CHALLENGE].next_run_at


async def count(database: Database, model: type) -> int:
    async with database.read() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_a_due_week_is_decided_once_however_many_deciders_race(database: Database) -> None:
    clock = Clock(NOW)
    due = await scheduled(database, clock)
    assert due - spread(SERVER) == datetime(2026, 12, 7, 8, tzinfo=UTC)  # 09:00 CET
    posts = WeeklyPosts(database, clock=clock)
    assert await posts.decide_due() == []  # not yet
    clock.now = due + timedelta(seconds=30)
    decided = await asyncio.gather(*(posts.decide_due() for _ in range(4)))
    challenge = [d for batch in decided for d in batch if d.kind is PostKind.CHALLENGE]
    assert len(challenge) == 1
    assert challenge[0].due is Due.ON_TIME
    assert challenge[0].post_id is not None
    assert await count(database, ChallengeWeek) == 1
    assert await count(database, OutboxPost) == 1  # the recap, a day before, was skipped
    clock.now = due + timedelta(days=1)
    assert await posts.decide_due() == []


async def test_after_downtime_one_late_post_within_the_grace_window_else_the_next_week(
    database: Database,
) -> None:
    clock = Clock(NOW)
    due = await scheduled(database, clock)
    posts = WeeklyPosts(database, clock=clock, grace=timedelta(hours=24))
    clock.now = due + timedelta(hours=6)
    [recap, challenge] = sorted(await posts.decide_due(), key=lambda d: d.kind.value == "challenge")
    assert challenge.due is Due.LATE
    assert recap.due is Due.SKIP  # the recap was due the day before: more than 24 h ago
    async with database.read() as session:
        assert (await session.scalar(select(ChallengeWeek.late))) is True
    # Down three weeks: nothing for the weeks missed, and the next post is in the future.
    clock.now = due + timedelta(days=21, hours=2)
    decided = await posts.decide_due()
    assert {d.due for d in decided} == {Due.SKIP}
    assert await count(database, ChallengeWeek) == 1
    wake = await posts.next_wake()
    assert wake is not None
    assert wake > clock.now


async def test_challenges_rotate_the_habits_and_do_not_repeat_within_eight_weeks(
    database: Database,
) -> None:
    clock = Clock(NOW)
    due = await scheduled(database, clock)
    posts = WeeklyPosts(database, clock=clock)
    for week in range(12):
        clock.now = due + timedelta(days=7 * week, seconds=30)
        await posts.decide_due()
    async with database.read() as session:
        rows = (
            await session.execute(
                select(ChallengeWeek.habit, ChallengeWeek.challenge_key).order_by(
                    ChallengeWeek.week
                )
            )
        ).all()
    habits = [Habit(row.habit) for row in rows]
    assert habits == [HABIT_ORDER[week % 4] for week in range(12)]
    keys = [row.challenge_key for row in rows]
    for week in range(len(keys)):
        assert keys[week] not in keys[max(0, week - NO_REPEAT_WEEKS) : week]


async def test_the_weakest_habit_is_targeted_when_the_server_chooses_it(
    database: Database,
) -> None:
    clock = Clock(NOW)
    due = await scheduled(database, clock)
    await ScheduleService(database, clock).set_selection(actor(), Selection.WEAKEST)
    async with database.write() as session:
        for user in (ANA, BEN):
            session.add(Member(server_id=SERVER, user_id=user, display_name=f"u{user}"))
        await session.flush()
        # Everyone connects, shares and asks; nobody converses.
        for user, kind, habit in [
            (ANA, EventKind.REPLY, "connect"),
            (BEN, EventKind.REPLY, "connect"),
            (ANA, EventKind.SHARE, "contribute"),
            (ANA, EventKind.ASK, "request"),
        ]:
            session.add(
                ActivityEvent(
                    server_id=SERVER, member_id=user, kind=kind, habit=habit, occurred_at=NOW
                )
            )
    clock.now = due + timedelta(seconds=30)
    await WeeklyPosts(database, clock=clock).decide_due()
    async with database.read() as session:
        assert await session.scalar(select(ChallengeWeek.habit)) == Habit.CONVERSE.value


async def test_completions_are_credited_from_the_ledger_and_self_reports_count_once(
    database: Database,
) -> None:
    clock = Clock(NOW)
    due = await scheduled(database, clock)
    clock.now = due + timedelta(seconds=30)
    await WeeklyPosts(database, clock=clock).decide_due()
    completions = ChallengeCompletions(database, clock)
    current = await completions.current(SERVER)
    assert current is not None
    async with database.write() as session:
        row = await session.get(ChallengeWeek, current.id)
        assert row is not None
        # Make it a challenge the ledger can check: reach one person new to you.
        row.rule_kind, row.rule_count = "reply_to_people", 1
        for user in (ANA, BEN):
            session.add(Member(server_id=SERVER, user_id=user, display_name=f"u{user}"))
        await session.flush()
        session.add(
            ActivityEvent(
                server_id=SERVER,
                member_id=ANA,
                kind=EventKind.REPLY,
                habit="connect",
                other_member_id=BEN,
                occurred_at=clock.now + timedelta(hours=1),
            )
        )
    clock.now += timedelta(hours=2)
    assert await completions.verify_open() == 1  # Ana, without pressing anything
    assert await completions.how_done(current.id, ANA) == "auto"
    assert await completions.how_done(current.id, BEN) is None

    owed = await completions.report_done(actor(BEN), current.id, answer=answer_ticket(clock.now))
    assert owed.outcome == Reported.COUNTED
    owed = await completions.report_done(actor(BEN), current.id, answer=answer_ticket(clock.now))
    assert owed.outcome == Reported.ALREADY
    clock.now = current.ends_at + timedelta(minutes=1)
    owed = await completions.report_done(actor(ADMIN), current.id, answer=answer_ticket(clock.now))
    assert owed.outcome == Reported.ENDED
    await completions.verify_open()  # the final check closes the week
    async with database.read() as session:
        assert await session.scalar(select(ChallengeWeek.closed)) is True
        hows = dict(
            (
                await session.execute(
                    select(ChallengeCompletion.member_id, ChallengeCompletion.how)
                )
            ).all()
        )
    assert hows == {ANA: "auto", BEN: "self"}


async def test_recap_figures_count_the_week_and_respect_shout_out_opt_outs(
    database: Database,
) -> None:
    clock = Clock(NOW)
    async with database.write() as session:
        session.add(Server(id=SERVER, name="Demo"))
        await session.flush()
        for user in (ANA, BEN):
            session.add(
                Member(server_id=SERVER, user_id=user, display_name=f"u{user}", last_seen_at=NOW)
            )
        await session.flush()
        for user, shares in ((ANA, 2), (BEN, 1)):
            for n in range(shares):
                session.add(
                    ActivityEvent(
                        server_id=SERVER,
                        member_id=user,
                        kind=EventKind.SHARE,
                        habit="contribute",
                        occurred_at=NOW - timedelta(days=1, minutes=n),
                    )
                )
        session.add(
            ActivityEvent(
                server_id=SERVER,
                member_id=ANA,
                kind=EventKind.SHARE,
                habit="contribute",
                occurred_at=NOW - timedelta(days=20),  # another week
            )
        )
    await NudgeService(database, clock).choose(actor(ANA), shoutouts=False)
    recaps = RecapService(database, AskService(database))
    figures = await recaps.figures(SERVER, NOW - timedelta(days=7), NOW)
    assert figures.shares == 3
    assert [s.member_id for s in figures.shout_outs] == [BEN]  # Ana opted out
    assert dict(figures.funnel)[Habit.CONTRIBUTE] == 2
    assert figures.community_size >= 2
    assert len(figures.trend) == 8
    assert figures.trend[-1].shares == 3
    assert sum(week.shares for week in figures.trend) == 4


async def test_at_most_one_nudge_a_day_and_only_for_members_who_asked(database: Database) -> None:
    clock = Clock(NOW)
    nudges = NudgeService(database, clock)
    await nudges.choose(actor(BEN), nudges=False)
    assert not await nudges.claim(SERVER, BEN, NudgeKind.DIGEST, 1)  # never asked for nudges
    await nudges.choose(actor(ANA), nudges=True)
    assert await nudges.claim(SERVER, ANA, NudgeKind.DIGEST, 1)
    assert not await nudges.claim(SERVER, ANA, NudgeKind.UNANSWERED_ASK, 9)  # same day
    clock.now += timedelta(days=1)
    assert not await nudges.claim(SERVER, ANA, NudgeKind.DIGEST, 1)  # that digest went already
    assert await nudges.claim(SERVER, ANA, NudgeKind.UNANSWERED_ASK, 9)
    assert await nudges.stop_for_closed_dms(ANA) == 1
    assert (await nudges.preferences(SERVER, ANA)).nudges_stopped == "dms_closed"
    clock.now += timedelta(days=1)
    assert not await nudges.claim(SERVER, ANA, NudgeKind.DIGEST, 2)
    assert len(BANK) >= 32
