"""APScheduler as the clock that wakes the bot; the database holds what is due.

One date job, re-armed after each tick for the next due time, and a safety tick every half
minute (another process may have changed a schedule; a wake-up may have been missed). A tick
never overlaps itself: a wake-up during a tick runs it again once it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

from bot.scheduling.clock import Clock

log = logging.getLogger(__name__)
# APScheduler logs every run at INFO: a line every few seconds says nothing an operator needs.
logging.getLogger("apscheduler").setLevel(logging.WARNING)

SAFETY_TICK = 30.0
NEXT_JOB = "pln-next-due"

# Does the work that is due; returns when it should run next (by the schedule's clock).
Tick = Callable[[], Awaitable[datetime | None]]


class WeeklyTicker:
    def __init__(self, tick: Tick, clock: Clock, *, safety_tick: float = SAFETY_TICK) -> None:
        self._tick = tick
        self._clock = clock
        self._safety_tick = safety_tick
        self._scheduler: AsyncIOScheduler | None = None
        self._lock = asyncio.Lock()
        self._again = False
        self._running_tick: asyncio.Future[datetime | None] | None = None

    @property
    def running(self) -> bool:
        return self._scheduler is not None

    def start(self) -> None:
        """Start ticking (inside the running event loop)."""
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self._run,
            "interval",
            seconds=self._safety_tick,
            id="pln-safety-tick",
            coalesce=True,
            max_instances=8,
            misfire_grace_time=None,
        )
        scheduler.start()
        self._scheduler = scheduler
        self.wake()

    async def stop(self) -> None:
        """Stop ticking; a tick under way is cancelled (its transaction rolls back)."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        tick = self._running_tick
        if tick is not None and not tick.done():
            tick.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tick

    def wake(self, after: timedelta = timedelta(0)) -> None:
        """Tick after ``after`` (real time), replacing the wake-up armed before."""
        if self._scheduler is None:
            return
        self._scheduler.add_job(
            self._run,
            "date",
            run_date=datetime.now(UTC) + max(after, timedelta(0)),
            id=NEXT_JOB,
            replace_existing=True,
            misfire_grace_time=None,
            # Re-armed from inside a run: the run itself keeps ticks from overlapping.
            max_instances=8,
        )

    async def _run(self) -> None:
        if self._lock.locked():
            self._again = True
            return
        async with self._lock:
            self._running_tick = asyncio.ensure_future(self._ticks())
            try:
                due = await self._running_tick
            except asyncio.CancelledError:
                if self._scheduler is None:
                    return  # stopped: nothing to report
                raise
            finally:
                self._running_tick = None
        if due is not None:
            self.wake(due - self._clock())

    async def _ticks(self) -> datetime | None:
        while True:
            self._again = False
            try:
                due = await self._tick()
            except Exception:
                log.exception("Weekly posts: a tick failed; trying again soon")
                due = None
            if not self._again:
                return due
