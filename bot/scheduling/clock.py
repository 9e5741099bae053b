"""The time the weekly posts go by: the real UTC time, or a shifted one.

Everything that decides weekly posts reads the time through a ``Clock``, so tests and the
sandbox can move time forward ("it is Monday 08:59:58 in Chicago now") and watch a real bot post,
without sleeping until Monday.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.db import utcnow

Clock = Callable[[], datetime]


class ShiftedClock:
    """UTC now plus an offset that can be moved (never backwards past a post: see ``shift``)."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset
        self._listeners: list[Callable[[], None]] = []

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def on_shift(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after each shift (the ticker re-arms its wake-up)."""
        self._listeners.append(listener)

    def forget(self, listener: Callable[[], None]) -> None:
        """Stop calling ``listener`` (a bot that closed)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def shift(self, by: timedelta) -> None:
        self.offset += by
        for listener in self._listeners:
            listener()

    def set(self, now: datetime) -> None:
        """Make it ``now`` (aware) from this moment on."""
        self.shift(now - self())
