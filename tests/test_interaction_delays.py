"""The admin hears, in the bot's log, when interactions reach the bot late or from the future."""

from __future__ import annotations

from datetime import timedelta

from bot.interaction_delays import WARN_EVERY, InteractionDelays

LATE_AFTER = timedelta(seconds=2)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_interactions_on_time_say_nothing() -> None:
    delays = InteractionDelays(Clock())
    for ms in (-900, 0, 40, 1999):
        assert delays.observe(timedelta(milliseconds=ms), late_after=LATE_AFTER) is None


def test_a_clock_behind_discords_is_reported_with_what_to_do() -> None:
    delays = InteractionDelays(Clock())
    warning = delays.observe(timedelta(seconds=-42), late_after=LATE_AFTER)
    assert warning is not None
    assert "42.0 s before Discord created it" in warning.text
    assert "behind" in warning.text
    assert "NTP" in warning.text


def test_late_interactions_are_counted_and_reported_once_a_quarter_hour() -> None:
    clock = Clock()
    delays = InteractionDelays(clock)
    first = delays.observe(timedelta(seconds=2.5), late_after=LATE_AFTER)
    assert first is not None
    assert first.text.startswith("1 interaction(s)")
    assert "overloaded" in first.text
    for _ in range(4):  # counted, not each logged
        assert delays.observe(timedelta(seconds=3), late_after=LATE_AFTER) is None
    clock.now += WARN_EVERY
    later = delays.observe(timedelta(seconds=4), late_after=LATE_AFTER)
    assert later is not None
    assert later.text.startswith("5 interaction(s)")
    assert "the last 4.0 s" in later.text


def test_each_kind_of_warning_has_its_own_quarter_hour() -> None:
    delays = InteractionDelays(Clock())
    assert delays.observe(timedelta(seconds=5), late_after=LATE_AFTER) is not None
    assert delays.observe(timedelta(seconds=-5), late_after=LATE_AFTER) is not None
    assert delays.observe(timedelta(seconds=-5), late_after=LATE_AFTER) is None
