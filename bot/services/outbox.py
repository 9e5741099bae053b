"""The outbox: every public post the bot owes a channel, stored with the fact that causes it.

A crash can fall between any two steps of "store the fact, post the message, record its id".
So the post is a row written in the same transaction as the fact (a share, later an intro or a
weekly challenge), and delivery is a separate, repeatable step: claim the row with a lease, post,
record the message id. A row whose earlier attempt may have reached Discord is looked up in the
channel before it is posted again (the delivery worker does that; this module only says when).

Refusals are sorted by the worker into permanent ones (missing permission, unknown channel,
a body Discord will never accept), which end the row as failed with a reason an admin can act
on, and transient ones (rate limits, Discord errors, timeouts), which back off and try again.
This module knows nothing of Discord: it stores, claims and schedules.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, func, literal, or_, select, update

from bot.db import Database, OutboxPost, utcnow
from bot.db.prepared import Prepared
from bot.db.statements import Rows, insert_new, table_of
from bot.db.types import UTCDateTime
from bot.db.upsert import dialect_insert

# How long a claim keeps other workers away. The worker renews a claim before each step that
# relies on it (a history lookup of at most 15 s, a send of at most 40 s), so a live claim never
# runs out in the middle of a post.
CLAIM_LEASE = timedelta(seconds=60)
# Transient failures back off exponentially from FIRST_RETRY up to LAST_RETRY between attempts;
# after MAX_ATTEMPTS (about a day of trying) the post is given up as failed.
FIRST_RETRY = timedelta(seconds=2)
LAST_RETRY = timedelta(minutes=30)
MAX_ATTEMPTS = 20


class PostState(enum.StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PostClaim:
    """The right, for one lease, to deliver one post."""

    post_id: int
    server_id: int
    kind: str
    subject_id: int
    channel_id: int
    worker_id: str
    attempt: int
    # When the first attempt started; set before this claim means an earlier attempt may have
    # posted, so the channel must be searched before posting again.
    first_attempted_at: datetime
    may_be_posted: bool
    # Set when the post is up already and is owed an edit (e.g. a re-written intro card).
    edit_message_id: int | None = None

    def on_its_way(self) -> PostStatus:
        """The post's status while this claim delivers it."""
        return PostStatus(self.post_id, PostState.PENDING, self.channel_id, None, None, None)

    def posted_as(self, message_id: int) -> PostStatus:
        """The post's status once this claim has put it up as ``message_id``."""
        return PostStatus(self.post_id, PostState.POSTED, self.channel_id, message_id, None, None)


@dataclass(frozen=True, slots=True)
class PostStatus:
    post_id: int
    state: PostState
    channel_id: int
    message_id: int | None
    # Why the post failed (or why its last attempt did), in words for an admin.
    problem: str | None
    error_code: int | None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an attempt did not post."""

    reason: str
    permanent: bool
    code: int | None = None
    # Discord's own "try again after" (a long rate limit), when it gave one.
    retry_after: float | None = None


def retry_delay(attempt: int, rng: Callable[[], float] = random.random) -> timedelta:
    """Exponential backoff with jitter, so posts refused together don't retry together."""
    ceiling: timedelta = min(LAST_RETRY, FIRST_RETRY * float(2 ** max(attempt - 1, 0)))
    return ceiling * (0.5 + rng() / 2)


def status_of(row: Any) -> PostStatus:
    """A post's status from its row (an ``OutboxPost`` or a row of ``STATUS_COLUMNS``)."""
    return PostStatus(
        post_id=row.id,
        state=PostState(row.state),
        channel_id=row.channel_id,
        message_id=row.message_id,
        problem=row.last_error,
        error_code=row.error_code,
    )


STATUS_COLUMNS = (
    OutboxPost.id,
    OutboxPost.state,
    OutboxPost.channel_id,
    OutboxPost.message_id,
    OutboxPost.last_error,
    OutboxPost.error_code,
)


_POSTS = table_of(OutboxPost)
ENQUEUED_COLUMNS = (
    "server_id",
    "kind",
    "subject_id",
    "channel_id",
    "state",
    "attempts",
    "next_attempt_at",
    "first_attempted_at",
    "claimed_by",
    "claimed_until",
    "created_at",
)
_ENQUEUE = Prepared(
    insert_new(
        _POSTS,
        ENQUEUED_COLUMNS,
        unique=[_POSTS.c.server_id, _POSTS.c.kind, _POSTS.c.subject_id],
        returning=_POSTS.c.id,
    )
)
_STATUS_OF_POSTS = [_POSTS.c[column.key] for column in STATUS_COLUMNS]
_RECORD_POSTED = Prepared(
    update(_POSTS)
    .where(_POSTS.c.id == bindparam("post_id"), _POSTS.c.state != PostState.POSTED.value)
    .values(
        state=PostState.POSTED.value,
        message_id=bindparam("message_id"),
        channel_id=bindparam("channel_id"),
        claimed_by=None,
        claimed_until=None,
        last_error=None,
        error_code=None,
        finished_at=bindparam("finished_at"),
    )
    .returning(*_STATUS_OF_POSTS)
)
_STATUS = Prepared(select(*_STATUS_OF_POSTS).where(_POSTS.c.id == bindparam("post_id")))


def _still_held(claim: PostClaim) -> tuple[Any, ...]:
    """The claim is this one: same worker and same attempt (a takeover bumps the attempt)."""
    return (
        OutboxPost.id == claim.post_id,
        OutboxPost.state == PostState.PENDING.value,
        OutboxPost.claimed_by == claim.worker_id,
        OutboxPost.attempts == claim.attempt,
    )


def worker_slot(worker_id: str) -> str:
    """``main/3f2a9c1d`` -> ``main``: the part of a worker's id that a restart keeps."""
    return worker_id.rpartition("/")[0] or worker_id


def _rowcount(result: Any) -> int:
    return cast("CursorResult[Any]", result).rowcount


async def _owed_already(session: Rows, server_id: int, kind: str, subject_id: int) -> int:
    """The id of the post owed for a subject already (an insert found it there)."""
    existing = await session.scalar(
        select(OutboxPost.id).where(
            OutboxPost.server_id == server_id,
            OutboxPost.kind == kind,
            OutboxPost.subject_id == subject_id,
        )
    )
    assert existing is not None
    return existing


def enqueued_values(
    *,
    server_id: int,
    kind: str,
    subject_id: int | None,
    channel_id: int,
    now: datetime,
    claim_for: str | None,
) -> dict[str, Any]:
    """A new post's row (``ENQUEUED_COLUMNS``); claimed by ``claim_for`` if given.

    ``subject_id`` None: the statement storing it fills that in (see ``at_once``).
    """
    claimed = claim_for is not None
    return {
        "server_id": server_id,
        "kind": kind,
        "subject_id": subject_id,
        "channel_id": channel_id,
        "state": PostState.PENDING.value,
        "attempts": 1 if claimed else 0,
        "next_attempt_at": now,
        "first_attempted_at": now if claimed else None,
        "claimed_by": claim_for,
        "claimed_until": now + CLAIM_LEASE if claimed else None,
        "created_at": now,
    }


def new_claim(
    post_id: int,
    *,
    server_id: int,
    kind: str,
    subject_id: int,
    channel_id: int,
    now: datetime,
    claim_for: str,
) -> PostClaim:
    """The claim a post enqueued with ``claim_for`` carries: its first attempt, starting now."""
    return PostClaim(
        post_id=post_id,
        server_id=server_id,
        kind=kind,
        subject_id=subject_id,
        channel_id=channel_id,
        worker_id=claim_for,
        attempt=1,
        first_attempted_at=now,
        may_be_posted=False,
    )


class Outbox:
    """Stores, claims and settles the posts the bot owes channels."""

    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._database = database
        self._clock = clock

    # -- inside the transaction that decides to post --------------------------------------------

    @staticmethod
    async def enqueue(
        session: Rows,
        *,
        server_id: int,
        kind: str,
        subject_id: int,
        channel_id: int,
        now: datetime,
        claim_for: str | None = None,
    ) -> tuple[int, PostClaim | None]:
        """Owe a post; with ``claim_for``, that worker holds it already and posts it next.

        Claiming here saves the worker a transaction on the happy path. Returns the post's id
        and the claim; a post owed already for the same subject is returned unclaimed.
        """
        inserted = await _ENQUEUE.execute(
            session,
            enqueued_values(
                server_id=server_id,
                kind=kind,
                subject_id=subject_id,
                channel_id=channel_id,
                now=now,
                claim_for=claim_for,
            ),
        )
        post_id = inserted.scalar_one_or_none()
        if post_id is None:
            return await _owed_already(session, server_id, kind, subject_id), None
        if claim_for is None:
            return post_id, None
        return post_id, new_claim(
            post_id,
            server_id=server_id,
            kind=kind,
            subject_id=subject_id,
            channel_id=channel_id,
            now=now,
            claim_for=claim_for,
        )

    @staticmethod
    async def enqueue_many(
        session: Rows, posts: Sequence[tuple[int, str, int, int]], *, now: datetime
    ) -> list[int]:
        """Owe many posts at once, unclaimed: ``(server_id, kind, subject_id, channel_id)``
        each. Returns their ids in the same order (a post owed already keeps its id)."""
        if not posts:
            return []
        inserted = await session.execute(
            dialect_insert(session, OutboxPost)
            .on_conflict_do_nothing(
                index_elements=[OutboxPost.server_id, OutboxPost.kind, OutboxPost.subject_id]
            )
            .returning(OutboxPost.server_id, OutboxPost.kind, OutboxPost.subject_id, OutboxPost.id),
            [
                {
                    "server_id": server_id,
                    "kind": kind,
                    "subject_id": subject_id,
                    "channel_id": channel_id,
                    "state": PostState.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for server_id, kind, subject_id, channel_id in posts
            ],
        )
        ids = {(row[0], row[1], row[2]): row[3] for row in inserted.all()}
        for server_id, kind, subject_id, _ in posts:
            key = (server_id, kind, subject_id)
            if key not in ids:  # owed already (a retry of a decision): its existing row
                ids[key] = await _owed_already(session, server_id, kind, subject_id)
        return [ids[(server_id, kind, subject_id)] for server_id, kind, subject_id, _ in posts]

    @classmethod
    async def revise(
        cls,
        session: Rows,
        *,
        server_id: int,
        kind: str,
        subject_id: int,
        channel_id: int,
        now: datetime,
        claim_for: str | None = None,
    ) -> tuple[int, PostClaim | None]:
        """Owe a post for a subject whose content changed: the first post, or an edit of it.

        A posted row goes back to pending with its message id kept, and its delivery edits that
        message in place (an edit is idempotent, so a retry needs no lookup). A row still pending
        renders what is stored when it goes out; a failed one gets another chance here.
        """
        row = (
            await session.execute(
                select(
                    OutboxPost.id, OutboxPost.state, OutboxPost.message_id, OutboxPost.channel_id
                ).where(
                    OutboxPost.server_id == server_id,
                    OutboxPost.kind == kind,
                    OutboxPost.subject_id == subject_id,
                )
            )
        ).one_or_none()
        if row is None:
            return await cls.enqueue(
                session,
                server_id=server_id,
                kind=kind,
                subject_id=subject_id,
                channel_id=channel_id,
                now=now,
                claim_for=claim_for,
            )
        if row.state == PostState.FAILED.value:
            claim = await cls.retry_failed(
                session, row.id, channel_id=channel_id, now=now, claim_for=claim_for
            )
            return row.id, claim
        if row.state == PostState.PENDING.value or row.message_id is None:
            return row.id, None
        claimed = claim_for is not None
        result = await session.execute(
            update(OutboxPost)
            .execution_options(synchronize_session=False)
            .where(OutboxPost.id == row.id, OutboxPost.state == PostState.POSTED.value)
            .values(
                state=PostState.PENDING.value,
                attempts=1 if claimed else 0,
                next_attempt_at=now,
                first_attempted_at=now if claimed else None,
                claimed_by=claim_for,
                claimed_until=now + CLAIM_LEASE if claimed else None,
                finished_at=None,
            )
        )
        if _rowcount(result) == 0 or claim_for is None:
            return row.id, None
        return row.id, PostClaim(
            post_id=row.id,
            server_id=server_id,
            kind=kind,
            subject_id=subject_id,
            channel_id=row.channel_id,
            worker_id=claim_for,
            attempt=1,
            first_attempted_at=now,
            may_be_posted=False,
            edit_message_id=row.message_id,
        )

    @staticmethod
    async def retry_failed(
        session: Rows,
        post_id: int,
        *,
        channel_id: int,
        now: datetime,
        claim_for: str | None = None,
    ) -> PostClaim | None:
        """Give a failed post another chance (its cause may be fixed).

        With ``claim_for``, that worker holds it and posts it next (the claim is returned);
        without, the next sweep does. One conditional update, so of two members re-sharing at
        once only one revives the post.
        """
        claimed = claim_for is not None
        row = (
            await session.execute(
                update(OutboxPost)
                .execution_options(synchronize_session=False)
                .where(OutboxPost.id == post_id, OutboxPost.state == PostState.FAILED.value)
                .values(
                    state=PostState.PENDING.value,
                    channel_id=channel_id,
                    next_attempt_at=now,
                    last_error=None,
                    error_code=None,
                    finished_at=None,
                    attempts=1 if claimed else 0,
                    claimed_by=claim_for,
                    claimed_until=now + CLAIM_LEASE if claimed else None,
                    first_attempted_at=func.coalesce(
                        OutboxPost.first_attempted_at,
                        literal(now if claimed else None, UTCDateTime),
                    ),
                )
                .returning(
                    OutboxPost.server_id,
                    OutboxPost.kind,
                    OutboxPost.subject_id,
                    OutboxPost.first_attempted_at,
                )
            )
        ).one_or_none()
        if row is None or claim_for is None:
            return None
        return PostClaim(
            post_id=post_id,
            server_id=row.server_id,
            kind=row.kind,
            subject_id=row.subject_id,
            channel_id=channel_id,
            worker_id=claim_for,
            attempt=1,
            first_attempted_at=row.first_attempted_at,
            # Set before this retry: an earlier attempt may have reached Discord.
            may_be_posted=row.first_attempted_at != now,
        )

    # -- delivery ---------------------------------------------------------------------------

    async def claim_due(self, worker_id: str, *, limit: int = 50) -> list[PostClaim]:
        """Claim pending posts that are due and not held by a live claim, oldest first."""
        now = self._clock()
        async with self._database.write() as session:
            query = (
                select(OutboxPost)
                .where(
                    OutboxPost.state == PostState.PENDING.value,
                    OutboxPost.next_attempt_at <= now,
                    or_(OutboxPost.claimed_until.is_(None), OutboxPost.claimed_until < now),
                )
                .order_by(OutboxPost.next_attempt_at, OutboxPost.id)
                .limit(limit)
            )
            if not self._database.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = (await session.execute(query)).scalars().all()
            claims = []
            for row in rows:
                may_be_posted = row.first_attempted_at is not None
                row.attempts += 1
                row.first_attempted_at = row.first_attempted_at or now
                row.claimed_by = worker_id
                row.claimed_until = now + CLAIM_LEASE
                claims.append(
                    PostClaim(
                        post_id=row.id,
                        server_id=row.server_id,
                        kind=row.kind,
                        subject_id=row.subject_id,
                        channel_id=row.channel_id,
                        worker_id=worker_id,
                        attempt=row.attempts,
                        first_attempted_at=row.first_attempted_at,
                        may_be_posted=may_be_posted,
                        edit_message_id=row.message_id,
                    )
                )
        return claims

    async def renew(self, claim: PostClaim) -> bool:
        """Extend a claim before posting; False means it was lost (taken over, or settled)."""
        now = self._clock()
        async with self._database.write_rows() as session:
            result = await session.execute(
                update(OutboxPost)
                .execution_options(synchronize_session=False)
                .where(*_still_held(claim))
                .values(claimed_until=now + CLAIM_LEASE)
            )
        return _rowcount(result) == 1

    async def record_posted(self, claim: PostClaim, message_id: int) -> PostStatus:
        """Record the message that delivered a post; the first one recorded wins.

        When two workers both posted (one's lease ran out mid-post), the loser gets the winner's
        status back and should delete its own message.
        """
        now = self._clock()
        async with self._database.write_rows(one_statement=True) as session:
            row = (
                await _RECORD_POSTED.execute(
                    session,
                    {
                        "post_id": claim.post_id,
                        "message_id": message_id,
                        "channel_id": claim.channel_id,
                        "finished_at": now,
                    },
                )
            ).one_or_none()
            if row is None:  # posted already, by another worker: its message counts
                row = (await _STATUS.execute(session, {"post_id": claim.post_id})).one()
        return status_of(row)

    async def record_refusal(self, claim: PostClaim, refusal: Refusal) -> PostStatus | None:
        """Settle an attempt that did not post: fail for good, or schedule the next try.

        Nothing changes (None) if this worker no longer holds the claim.
        """
        now = self._clock()
        give_up = refusal.permanent or claim.attempt >= MAX_ATTEMPTS
        values: dict[str, Any] = {
            "claimed_by": None,
            "claimed_until": None,
            "last_error": refusal.reason[:300],
            "error_code": refusal.code,
        }
        if give_up:
            values.update(state=PostState.FAILED.value, finished_at=now)
        else:
            delay = retry_delay(claim.attempt)
            if refusal.retry_after is not None:
                delay = max(delay, timedelta(seconds=refusal.retry_after))
            values.update(next_attempt_at=now + delay)
        async with self._database.write_rows() as session:
            result = await session.execute(
                update(OutboxPost)
                .execution_options(synchronize_session=False)
                .where(*_still_held(claim))
                .values(**values)
            )
            if _rowcount(result) == 0:
                return None
            row = (
                await session.execute(select(*STATUS_COLUMNS).where(OutboxPost.id == claim.post_id))
            ).one()
        return status_of(row)

    async def release_claims(self, worker_id: str) -> int:
        """Free the claims that earlier runs of this worker's slot left when they stopped.

        A worker's id is its slot (e.g. ``main``, later a shard set) and a per-run suffix. Called
        at start-up, so a restarted bot delivers at once instead of waiting out the dead run's
        leases; one process runs per slot. An earlier attempt's time is kept: those posts are
        looked up in their channel first.
        """
        async with self._database.write_rows() as session:
            result = await session.execute(
                update(OutboxPost)
                .execution_options(synchronize_session=False)
                .where(
                    OutboxPost.state == PostState.PENDING.value,
                    OutboxPost.claimed_by.startswith(f"{worker_slot(worker_id)}/", autoescape=True),
                    OutboxPost.claimed_by != worker_id,
                )
                .values(claimed_by=None, claimed_until=None)
            )
        return _rowcount(result)

    # -- looking -----------------------------------------------------------------------------

    async def status(self, post_id: int) -> PostStatus | None:
        async with self._database.read_rows() as session:
            row = (await _STATUS.execute(session, {"post_id": post_id})).one_or_none()
        return None if row is None else status_of(row)

    async def statuses(self, post_ids: Sequence[int]) -> dict[int, PostStatus]:
        if not post_ids:
            return {}
        async with self._database.read_rows() as session:
            rows = (
                await session.execute(
                    select(*STATUS_COLUMNS).where(OutboxPost.id.in_(list(post_ids)))
                )
            ).all()
        return {row.id: status_of(row) for row in rows}

    async def next_due_at(self) -> datetime | None:
        """When the earliest pending post becomes deliverable (its retry time, or lease end)."""
        pending = OutboxPost.state == PostState.PENDING.value
        async with self._database.read_rows() as session:
            unclaimed = await session.scalar(
                select(func.min(OutboxPost.next_attempt_at)).where(
                    pending, OutboxPost.claimed_until.is_(None)
                )
            )
            leased = await session.scalar(
                select(func.min(OutboxPost.claimed_until)).where(
                    pending, OutboxPost.claimed_until.is_not(None)
                )
            )
        times = [time for time in (unclaimed, leased) if time is not None]
        return min(times) if times else None
