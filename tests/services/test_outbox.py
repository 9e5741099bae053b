"""The outbox hands each post to one worker at a time and settles it once: posted or failed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.db import Database
from bot.services.members import Actor, touch_actor
from bot.services.outbox import (
    CLAIM_LEASE,
    LAST_RETRY,
    MAX_ATTEMPTS,
    Outbox,
    PostClaim,
    PostState,
    Refusal,
    retry_delay,
)
from tests.services.clock import Clock

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
SERVER = Actor(1001, "Demo Educators", 11, "Ana")
CHANNEL = 5001


async def _owe(database: Database, subjects: range, *, claim_for: str | None = None) -> list[int]:
    async with database.write() as session:
        await touch_actor(session, SERVER, NOW)
        ids = []
        for subject in subjects:
            post_id, _ = await Outbox.enqueue(
                session,
                server_id=SERVER.server_id,
                kind="resource_card",
                subject_id=subject,
                channel_id=CHANNEL,
                now=NOW,
                claim_for=claim_for,
            )
            ids.append(post_id)
    return ids


async def test_a_post_is_owed_once_per_subject(database: Database) -> None:
    first = await _owe(database, range(1, 2))
    again = await _owe(database, range(1, 2))
    assert first == again


async def test_each_due_post_goes_to_one_worker_until_its_lease_runs_out(
    database: Database,
) -> None:
    clock = Clock(NOW)
    outbox = Outbox(database, clock=clock)
    [post_id] = await _owe(database, range(1, 2))
    [claim] = await outbox.claim_due("worker-a")
    assert (claim.post_id, claim.attempt, claim.may_be_posted) == (post_id, 1, False)
    assert await outbox.claim_due("worker-b") == []

    clock.now += CLAIM_LEASE + timedelta(seconds=1)  # worker-a died mid-post
    [taken_over] = await outbox.claim_due("worker-b")
    assert taken_over.attempt == 2
    assert taken_over.may_be_posted  # worker-a may have posted: look before posting again
    assert taken_over.first_attempted_at == NOW
    assert not await outbox.renew(claim)  # worker-a's claim is gone
    assert await outbox.renew(taken_over)


async def test_the_first_message_recorded_wins(database: Database) -> None:
    clock = Clock(NOW)
    outbox = Outbox(database, clock=clock)
    await _owe(database, range(1, 2))
    [slow] = await outbox.claim_due("worker-a")
    clock.now += CLAIM_LEASE + timedelta(seconds=1)
    [fast] = await outbox.claim_due("worker-b")
    won = await outbox.record_posted(fast, 111)
    assert (won.state, won.message_id) == (PostState.POSTED, 111)
    late = await outbox.record_posted(slow, 222)
    assert late.message_id == 111  # the slow worker learns to delete its own message 222
    assert await outbox.claim_due("worker-c") == []  # posted rows are final


async def test_a_permanent_refusal_fails_the_post_with_its_reason(database: Database) -> None:
    outbox = Outbox(database, clock=Clock(NOW))
    await _owe(database, range(1, 2))
    [claim] = await outbox.claim_due("worker-a")
    status = await outbox.record_refusal(
        claim, Refusal("I'm missing Send Messages there", permanent=True, code=50013)
    )
    assert status is not None
    assert status.state is PostState.FAILED
    assert status.problem == "I'm missing Send Messages there"
    assert status.error_code == 50013
    assert await outbox.claim_due("worker-a") == []  # never retried by itself


async def test_a_transient_refusal_backs_off_then_retries(database: Database) -> None:
    clock = Clock(NOW)
    outbox = Outbox(database, clock=clock)
    await _owe(database, range(1, 2))
    [claim] = await outbox.claim_due("worker-a")
    status = await outbox.record_refusal(
        claim, Refusal("Discord asked me to slow down", permanent=False, retry_after=45.0)
    )
    assert status is not None
    assert status.state is PostState.PENDING
    assert await outbox.claim_due("worker-a") == []  # not before Discord's retry_after
    due = await outbox.next_due_at()
    assert due is not None
    assert due >= NOW + timedelta(seconds=45)
    clock.now = due
    [again] = await outbox.claim_due("worker-a")
    assert again.attempt == 2
    assert again.may_be_posted


async def test_a_post_that_keeps_failing_is_given_up(database: Database) -> None:
    clock = Clock(NOW)
    outbox = Outbox(database, clock=clock)
    await _owe(database, range(1, 2))
    status = None
    for _ in range(MAX_ATTEMPTS):
        [claim] = await outbox.claim_due("worker-a")
        status = await outbox.record_refusal(claim, Refusal("Discord had a problem", False, 502))
        clock.now += LAST_RETRY
    assert status is not None
    assert status.state is PostState.FAILED
    assert status.problem == "Discord had a problem"


async def test_a_restarted_worker_takes_back_its_last_runs_claims_at_once(
    database: Database,
) -> None:
    outbox = Outbox(database, clock=Clock(NOW))
    await _owe(database, range(1, 3), claim_for="main/run1")  # the run that was killed
    await _owe(database, range(3, 4), claim_for="shard-1/run5")  # another, live process
    assert await outbox.claim_due("main/run2") == []  # all leased
    assert await outbox.release_claims("main/run2") == 2
    reclaimed = await outbox.claim_due("main/run2")
    assert sorted(claim.subject_id for claim in reclaimed) == [1, 2]
    assert all(claim.may_be_posted for claim in reclaimed)  # the dead run may have posted them


async def test_a_claim_taken_over_cannot_be_renewed_or_settled_by_its_old_holder(
    database: Database,
) -> None:
    clock = Clock(NOW)
    outbox = Outbox(database, clock=clock)
    await _owe(database, range(1, 2))
    [slow] = await outbox.claim_due("main/run1")
    clock.now += CLAIM_LEASE + timedelta(seconds=1)
    [taken_over] = await outbox.claim_due("main/run1")  # the same worker's sweep, a new attempt
    assert not await outbox.renew(slow)
    assert await outbox.record_refusal(slow, Refusal("Discord had a problem", False)) is None
    assert await outbox.renew(taken_over)  # the late refusal did not end the live claim


async def test_concurrent_workers_never_claim_the_same_post(database: Database) -> None:
    """Two processes' worth of engines on one database, racing for 30 posts."""
    other_process = Database(database.url)
    databases = [database, other_process]
    try:
        await _owe(database, range(1, 31))
        claims: list[list[PostClaim]] = await asyncio.gather(
            *(
                Outbox(databases[n % 2]).claim_due(f"worker-{n}", limit=4)
                for n in range(10)
                for _ in range(2)
            )
        )
        claimed = [claim.post_id for batch in claims for claim in batch]
        assert len(claimed) == len(set(claimed)) == 30
    finally:
        await other_process.dispose()


def test_retries_spread_out_and_stop_growing() -> None:
    assert retry_delay(1, rng=lambda: 1.0) == timedelta(seconds=2)
    assert retry_delay(4, rng=lambda: 1.0) == timedelta(seconds=16)
    assert retry_delay(4, rng=lambda: 0.0) == timedelta(seconds=8)  # jitter: half to full
    assert retry_delay(40, rng=lambda: 1.0) == LAST_RETRY
