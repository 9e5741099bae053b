"""Each tick of the clock: decide the weekly posts that are due, hand them to delivery, and
credit challenge completions the ledger shows (hourly, and once more after each deadline)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.challenges.completions import ChallengeCompletions
from bot.challenges.weekly_posts import Decision, WeeklyPosts
from bot.scheduling.clock import Clock
from bot.scheduling.weekly import Due
from bot.sharding import Shards

log = logging.getLogger(__name__)

VERIFY_EVERY = timedelta(hours=1)

DecisionListener = Callable[[list[Decision]], Awaitable[None]]
HourlyJob = Callable[[], Awaitable[None]]


class WeeklyHooks:
    """What cogs add to each tick; filled in as they load, before there is a database."""

    def __init__(self) -> None:
        self.decided: list[DecisionListener] = []
        self.hourly: list[HourlyJob] = []

    def on_decided(self, listener: DecisionListener) -> None:
        """Call ``listener`` with each tick's decided posts (nudges follow the challenge)."""
        self.decided.append(listener)

    def every_hour(self, job: HourlyJob) -> None:
        """Run ``job`` about once an hour, on the ticks (e.g. nudges about unanswered asks)."""
        self.hourly.append(job)


class WeeklyRunner:
    def __init__(
        self,
        weekly_posts: WeeklyPosts,
        completions: ChallengeCompletions,
        *,
        clock: Clock,
        shards: Shards,
        wake_delivery: Callable[[], None],
        hooks: WeeklyHooks,
    ) -> None:
        self._weekly_posts = weekly_posts
        self._completions = completions
        self._clock = clock
        self._shards = shards
        self._wake_delivery = wake_delivery
        self._verified_at: datetime | None = None
        self._hooks = hooks
        self._hourly: asyncio.Task[None] | None = None

    async def stop(self) -> None:
        if self._hourly is not None:
            self._hourly.cancel()
            await asyncio.gather(self._hourly, return_exceptions=True)

    async def _every_hour(self) -> None:
        try:
            await self._completions.verify_open(self._shards.owns)
        except Exception:
            log.exception("Checking challenge completions failed")
        for job in self._hooks.hourly:
            try:
                await job()
            except Exception:
                log.exception("An hourly job failed")

    def _hand_over(self, batch: list[Decision]) -> None:
        if any(decision.post_id is not None for decision in batch):
            self._wake_delivery()

    async def tick(self) -> datetime | None:
        decisions = await self._weekly_posts.decide_due(self._shards, on_batch=self._hand_over)
        owed = [decision for decision in decisions if decision.post_id is not None]
        if owed:
            late = sum(decision.due is Due.LATE for decision in owed)
            log.info("Weekly posts: %d owed (%d late, with a note)", len(owed), late)
        for listener in self._hooks.decided:
            try:
                await listener(decisions)
            except Exception:
                log.exception("A weekly-post listener failed")
        now = self._clock()
        if self._verified_at is None or now - self._verified_at >= VERIFY_EVERY:
            self._verified_at = now
            if self._hourly is None or self._hourly.done():  # never two at once
                # Beside the ticks, not in them: a thousand servers' checks must not hold up
                # the next week's posts.
                self._hourly = asyncio.create_task(self._every_hour(), name="pln-weekly-hourly")
        upcoming = await self._weekly_posts.next_wake(self._shards)
        assert self._verified_at is not None
        next_check = self._verified_at + VERIFY_EVERY
        return next_check if upcoming is None else min(upcoming, next_check)
