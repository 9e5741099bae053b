"""Telling an admin when interactions reach the bot late, or their times make no sense.

A command decides how to acknowledge from how old its interaction is (Discord's clock, in its
id, against this machine's): one over two seconds old is acknowledged before its work runs, as
Discord may already refuse it. That only works while the two clocks agree. A machine whose clock
runs behind Discord's (a Raspberry Pi that booted without network time, say) sees interactions
from the future and can't tell a late one; one whose clock runs fast, or a bot so overloaded
that commands wait seconds for it, sees every one late and answers a little slower. Neither is
something a member can see or fix, so the bot says it in its log, at most once a quarter of an
hour for each, with what to do.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

# An interaction this far "in the future" means the machine's clock is behind, not network
# jitter (Discord's ids count milliseconds; a trip takes tens of them).
AHEAD_OF_US = timedelta(seconds=1)
# At most one warning of each kind per this many seconds.
WARN_EVERY = 15 * 60.0


@dataclass(frozen=True, slots=True)
class DelayWarning:
    """A line for the bot's log."""

    text: str


class InteractionDelays:
    """Watches how old interactions are when they reach the bot; says when that is wrong."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._late_since_warning = 0
        # When each kind was last warned about (None: never).
        self._warned_at: dict[str, float | None] = {"ahead": None, "late": None}

    def observe(self, age: timedelta, *, late_after: timedelta) -> DelayWarning | None:
        """Note one interaction's age (this machine's time less Discord's), and whether it was
        over ``late_after``, the age from which it is acknowledged first; a warning if due."""
        if age < -AHEAD_OF_US:
            if self._due("ahead"):
                return DelayWarning(
                    f"An interaction reached the bot {-age.total_seconds():.1f} s before Discord "
                    "created it: this machine's clock runs behind Discord's. Late commands can't "
                    "be told apart until it is set right: turn on network time (NTP)."
                )
            return None
        if age <= late_after:
            return None
        self._late_since_warning += 1
        if not self._due("late"):
            return None
        count, self._late_since_warning = self._late_since_warning, 0
        return DelayWarning(
            f"{count} interaction(s) reached the bot over {late_after.total_seconds():g} s "
            f"after Discord created them (the last {age.total_seconds():.1f} s): each was "
            "acknowledged before its work ran, a little slower. If this keeps happening, the "
            "bot is overloaded or this machine's clock runs fast (turn on network time, NTP)."
        )

    def _due(self, kind: str) -> bool:
        now = self._monotonic()
        last = self._warned_at[kind]
        if last is not None and now - last < WARN_EVERY:
            return False
        self._warned_at[kind] = now
        return True
