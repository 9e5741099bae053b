"""Discord-style snowflake ids and timestamps.

Real ids encode their creation time, and discord.py derives ``created_at`` from them, so ids made
here come from the current clock (Discord epoch 2015-01-01) and are strictly increasing.
"""

from __future__ import annotations

import datetime
import time

DISCORD_EPOCH_MS = 1_420_070_400_000


class SnowflakeGenerator:
    """Hands out unique, time-ordered snowflakes (worker and process ids fixed to 1 and 0)."""

    def __init__(self, worker_id: int = 1, process_id: int = 0) -> None:
        self._prefix = ((worker_id & 0x1F) << 17) | ((process_id & 0x1F) << 12)
        self._last = 0

    def next(self) -> int:
        now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = (now_ms << 22) | self._prefix
        if candidate <= self._last:
            # Same millisecond (or clock went back): keep ids unique by bumping the increment.
            candidate = self._last + 1
        self._last = candidate
        return candidate


def snowflake_time(snowflake: int) -> datetime.datetime:
    """The creation time encoded in a snowflake."""
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)


def iso(moment: datetime.datetime) -> str:
    """Discord's ISO-8601 timestamp format (microseconds, explicit +00:00)."""
    return moment.astimezone(datetime.UTC).isoformat(timespec="microseconds")


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
