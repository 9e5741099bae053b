"""Each server's own thresholds: levels follow them, and nonsense figures are refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.db import Database
from bot.habits import Habit, Level
from bot.services.members import Actor
from bot.services.progress import ProgressService
from bot.services.share_input import parse_share
from bot.services.sharing import SharingService
from bot.services.thresholds import DEFAULTS, ThresholdError, Thresholds, ThresholdService
from tests.services.clock import Clock, answer_ticket

ADMIN = Actor(1001, "Demo Educators", 10, "Maya")
ANA = Actor(1001, "Demo Educators", 11, "Ana")
OTHER_SERVER_ANA = Actor(2002, "Another School", 11, "Ana")
NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


async def _contribute(database: Database, thresholds: ThresholdService, actor: Actor) -> Level:
    service = ProgressService(database, clock=Clock(NOW), thresholds=thresholds)
    return (await service.progress(actor.server_id, actor.user_id)).of(Habit.CONTRIBUTE).level


async def test_a_server_that_asks_for_two_shares_to_start_gets_exactly_that(
    database: Database,
) -> None:
    sharing = SharingService(database, clock=Clock(NOW))
    thresholds = ThresholdService(database)
    await sharing.share(ANA, 1, parse_share("https://a.org/1"), answer=answer_ticket(NOW))
    await sharing.share(
        OTHER_SERVER_ANA, 1, parse_share("https://a.org/1"), answer=answer_ticket(NOW)
    )
    await thresholds.set(ADMIN, Habit.CONTRIBUTE, started=2)

    assert await _contribute(database, thresholds, ANA) is Level.NOT_STARTED
    assert await _contribute(database, thresholds, OTHER_SERVER_ANA) is Level.STARTED  # untouched
    await sharing.share(ANA, 1, parse_share("https://a.org/2"), answer=answer_ticket(NOW))
    assert await _contribute(database, thresholds, ANA) is Level.STARTED

    # Another process (a fresh service, no cache) reads the same figures from the database.
    fresh = await ThresholdService(database).thresholds(ANA.server_id)
    assert fresh.of(Habit.CONTRIBUTE).started == 2
    assert fresh.of(Habit.CONNECT) == DEFAULTS[Habit.CONNECT]

    await thresholds.set(ADMIN, Habit.CONTRIBUTE, reset=True)
    assert (await ThresholdService(database).thresholds(1001)) == Thresholds.defaults()


@pytest.mark.parametrize(
    ("habit", "figures"),
    [
        (Habit.CONNECT, {"started": 6}),  # Practicing (5) would need fewer than Started
        (Habit.CONTRIBUTE, {"habit_level": 5}),  # 5 active weeks out of the last 4
        (Habit.REQUEST, {"practicing": 0}),
        (Habit.CONVERSE, {"started": 101}),
    ],
)
async def test_figures_that_make_no_sense_are_refused_and_nothing_changes(
    database: Database, habit: Habit, figures: dict[str, int]
) -> None:
    thresholds = ThresholdService(database)
    await thresholds.set(ADMIN, Habit.CONNECT, practicing=4)
    with pytest.raises(ThresholdError):
        await thresholds.set(ADMIN, habit, **figures)  # type: ignore[arg-type]
    stored = await ThresholdService(database).thresholds(ADMIN.server_id)
    assert stored.of(Habit.CONNECT).practicing == 4
    assert stored.of(habit) == (DEFAULTS[habit] if habit is not Habit.CONNECT else stored.of(habit))


def test_stored_figures_out_of_range_fall_back_to_the_defaults() -> None:
    found = Thresholds.from_stored({"connect": {"practicing": -3, "habit": 2}, "nope": 1})
    assert found.of(Habit.CONNECT).practicing == DEFAULTS[Habit.CONNECT].practicing
    assert found.of(Habit.CONNECT).habit == 2
    assert found.to_stored() == {"connect": {"habit": 2}}
