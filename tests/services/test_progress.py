"""Levels come from the ledger, following the product model's Contribute thresholds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.db import Database
from bot.habits import HABIT_ORDER, Habit, Level
from bot.services.coach import next_step
from bot.services.members import Actor
from bot.services.progress import ProgressService
from bot.services.share_input import parse_share
from bot.services.sharing import SharingService
from tests.services.clock import Clock, answer_ticket

ANA = Actor(1001, "Demo Educators", 11, "Ana")
BEN = Actor(1001, "Demo Educators", 12, "Ben")
NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


async def _share(database: Database, actor: Actor, url: str, at: datetime) -> int:
    outcome = await SharingService(database, clock=Clock(at)).share(
        actor, 1, parse_share(url), answer=answer_ticket(at)
    )
    return outcome.resource.id


async def _contribute_level(database: Database, actor: Actor = ANA) -> Level:
    progress = await ProgressService(database, clock=Clock(NOW)).progress(1001, actor.user_id)
    return progress.of(Habit.CONTRIBUTE).level


async def test_a_newcomer_has_not_started_any_habit(database: Database) -> None:
    progress = await ProgressService(database, clock=Clock(NOW)).progress(1001, 11)
    assert [item.habit for item in progress.habits] == list(HABIT_ORDER)
    assert all(item.level is Level.NOT_STARTED for item in progress.habits)
    assert "Reply to or react to" in next_step(progress)  # a network grows from Connect


async def test_one_share_starts_contribute(database: Database) -> None:
    await _share(database, ANA, "https://a.org/1", NOW)
    assert await _contribute_level(database) is Level.STARTED
    assert await _contribute_level(database, BEN) is Level.NOT_STARTED


async def test_three_shares_are_not_practicing_until_someone_finds_one_useful(
    database: Database,
) -> None:
    ids = [await _share(database, ANA, f"https://a.org/{i}", NOW) for i in range(3)]
    assert await _contribute_level(database) is Level.STARTED
    await SharingService(database, clock=Clock(NOW)).mark_useful(
        BEN, ids[0], answer=answer_ticket(NOW)
    )
    assert await _contribute_level(database) is Level.PRACTICING


async def test_someone_resharing_your_link_counts_as_use(database: Database) -> None:
    for i in range(3):
        await _share(database, ANA, f"https://a.org/{i}", NOW)
    await _share(database, BEN, "https://a.org/2", NOW)
    assert await _contribute_level(database) is Level.PRACTICING
    assert await _contribute_level(database, BEN) is Level.NOT_STARTED


async def test_sharing_in_three_of_the_last_four_weeks_makes_a_habit(database: Database) -> None:
    weeks_ago = [0, 1, 3]
    ids = [
        await _share(database, ANA, f"https://a.org/{w}", NOW - timedelta(weeks=w, hours=1))
        for w in weeks_ago
    ]
    await SharingService(database, clock=Clock(NOW)).mark_useful(
        BEN, ids[0], answer=answer_ticket(NOW)
    )
    progress = await ProgressService(database, clock=Clock(NOW)).progress(1001, 11)
    assert progress.of(Habit.CONTRIBUTE).level is Level.HABIT
    assert progress.of(Habit.CONTRIBUTE).next_milestone is None


async def test_old_shares_do_not_keep_a_habit_alive(database: Database) -> None:
    ids = [
        await _share(database, ANA, f"https://a.org/{w}", NOW - timedelta(weeks=w, hours=1))
        for w in (0, 5, 6)
    ]
    await SharingService(database, clock=Clock(NOW)).mark_useful(
        BEN, ids[0], answer=answer_ticket(NOW)
    )
    assert await _contribute_level(database) is Level.PRACTICING


async def test_active_weeks_are_distinct_seven_day_windows_ending_now(database: Database) -> None:
    """Shares 0, 1, 6, 8 and 27 days ago fall in three windows (0, 1 and 3); 28 and 40 days
    ago are outside the four weeks, and a share later than now counts in none."""
    for days in (0, 1, 6, 8, 27, 28, 40, -1):
        await _share(database, ANA, f"https://a.org/{days}", NOW - timedelta(days=days))
    progress = await ProgressService(database, clock=Clock(NOW)).progress(1001, 11)
    contribute = progress.of(Habit.CONTRIBUTE)
    assert "8 shares" in contribute.summary
    assert "active 3 of the last 4 weeks" in contribute.summary
