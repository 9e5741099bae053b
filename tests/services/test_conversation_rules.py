"""Properties of the conversation detector and the Connect/Converse level rules (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.habits import Level
from bot.services.conversations import (
    Interaction,
    conversation_weeks,
    is_relationship,
    tie_summary,
)
from bot.services.progress import connect_progress, converse_progress

START = datetime(2026, 9, 7, tzinfo=UTC)
ANA, BEN = 11, 12

interactions = st.lists(
    st.builds(
        lambda minutes, ana_first, thread: Interaction(
            START + timedelta(minutes=minutes),
            ANA if ana_first else BEN,
            BEN if ana_first else ANA,
            thread,
        ),
        st.integers(min_value=0, max_value=60 * 24 * 60),
        st.booleans(),
        st.one_of(st.none(), st.sampled_from([901, 902])),
    ),
    max_size=25,
)


@given(interactions, st.randoms(use_true_random=False))
@settings(max_examples=300, deadline=None)
def test_the_order_signals_arrive_in_never_changes_the_result(
    found: list[Interaction], rng: object
) -> None:
    shuffled = list(found)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert conversation_weeks(shuffled) == conversation_weeks(found)
    assert tie_summary(shuffled) == tie_summary(found)


@given(interactions, st.data())
@settings(max_examples=300, deadline=None)
def test_withdrawing_a_signal_never_adds_or_moves_a_conversation(
    found: list[Interaction], data: st.DataObject
) -> None:
    if not found:
        return
    gone = data.draw(st.integers(min_value=0, max_value=len(found) - 1))
    fewer = found[:gone] + found[gone + 1 :]
    assert conversation_weeks(fewer) <= conversation_weeks(found)


@given(interactions)
@settings(max_examples=300, deadline=None)
def test_a_conversation_needs_both_sides_or_three_turns(found: list[Interaction]) -> None:
    if conversation_weeks(found):
        summary = tie_summary(found)
        assert summary is not None
        assert summary.reciprocated or len({i.thread_id for i in found} - {None}) >= 1


def test_a_reply_back_within_72_hours_is_a_conversation_in_its_week() -> None:
    asked = Interaction(START, BEN, ANA)
    assert conversation_weeks([asked, Interaction(START + timedelta(hours=72), ANA, BEN)]) == {
        date(2026, 9, 7)
    }
    assert conversation_weeks([asked, Interaction(START + timedelta(hours=73), ANA, BEN)]) == set()


def test_three_weeks_with_one_partner_is_a_relationship() -> None:
    weeks = {date(2026, 9, 7), date(2026, 9, 21)}
    assert not is_relationship(weeks)
    assert is_relationship(weeks | {date(2026, 10, 5)})


@given(
    st.integers(min_value=0, max_value=20),
    st.integers(min_value=0, max_value=4),
    st.integers(min_value=0, max_value=20),
    st.integers(min_value=0, max_value=4),
)
def test_less_activity_never_means_a_higher_connect_level(
    people: int, weeks: int, fewer_people: int, fewer_weeks: int
) -> None:
    fewer_people, fewer_weeks = min(people, fewer_people), min(weeks, fewer_weeks)
    assert (
        connect_progress(fewer_people, fewer_weeks).level <= connect_progress(people, weeks).level
    )


@given(
    st.dictionaries(st.integers(min_value=1, max_value=9), st.integers(min_value=1, max_value=6)),
    st.data(),
)
def test_less_conversation_never_means_a_higher_converse_level(
    weeks_by_partner: dict[int, int], data: st.DataObject
) -> None:
    fewer = {
        partner: data.draw(st.integers(min_value=0, max_value=count))
        for partner, count in weeks_by_partner.items()
    }
    fewer = {partner: count for partner, count in fewer.items() if count}
    assert converse_progress(fewer).level <= converse_progress(weeks_by_partner).level


def test_converse_levels_follow_the_product_model() -> None:
    assert converse_progress({}).level is Level.NOT_STARTED
    assert converse_progress({12: 1}).level is Level.STARTED
    assert converse_progress({12: 1, 13: 1, 14: 1}).level is Level.PRACTICING
    assert converse_progress({12: 3}).level is Level.HABIT
    assert connect_progress(1, 1).level is Level.STARTED
    assert connect_progress(5, 2).level is Level.PRACTICING
    assert connect_progress(5, 3).level is Level.HABIT
    assert connect_progress(4, 4).level is Level.STARTED
