"""Answers the bot owes members: stored with their action, so a crash cannot swallow them.

A member who pressed a button or ran a command sees "thinking..." until the bot edits that
answer in. If the bot stops after storing the action but before answering, the restarted bot
finds the answer here and completes it (Discord accepts edits for 15 minutes). Answers are
rendered again from what is stored, so delivering one twice shows the same thing twice.

The interaction token is a credential: it is kept only until the answer window closes, never
put in a log line or a ``repr``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, bindparam, delete, select

from bot.db import Database, PendingAnswer, utcnow
from bot.db.prepared import Prepared
from bot.db.statements import PerDialect, Rows, insert_named, is_one_of, table_of
from bot.services.outbox import worker_slot

# Discord keeps an interaction token valid for 15 minutes; stop a little earlier so an edit
# started at the last moment still lands.
ANSWER_WINDOW = timedelta(minutes=15) - timedelta(seconds=20)


# How long another process leaves an answer to the worker that owns it (its command answers
# within seconds) before completing it itself: the owner may have died.
OWNER_GRACE = timedelta(seconds=60)
# How long a worker leaves its own new answers to the commands completing them. A command
# stores its answer while Discord takes its acknowledgement (within 3 s of the member acting)
# and marks it as its own once that is through; the sweep editing it before then would find no
# message, count the answer as gone and leave the member with "thinking…".
OWN_GRACE = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class AnswerTicket:
    """What the bot needs to answer one interaction later: where, its token, and who answers."""

    application_id: int
    channel_id: int
    expires_at: datetime
    # The worker (process) that answers it; see PendingAnswers.unexpired.
    owner: str
    token: str = field(repr=False)

    @classmethod
    def for_interaction(
        cls,
        *,
        application_id: int,
        channel_id: int,
        token: str,
        created_at: datetime,
        owner: str,
    ) -> AnswerTicket:
        return cls(application_id, channel_id, created_at + ANSWER_WINDOW, owner, token)


@dataclass(frozen=True, slots=True)
class OwedAnswer:
    """An answer to deliver: what to say is rendered from ``kind``, ``subject_id``, ``outcome``.

    ``id`` is None for an answer that was never stored (nothing was changed, so nothing is
    lost if the bot stops before sending it).
    """

    id: int | None
    server_id: int
    member_id: int
    kind: str
    subject_id: int
    outcome: str
    post_id: int | None
    ticket: AnswerTicket


_ANSWERS = table_of(PendingAnswer)
STORED_COLUMNS = (
    "server_id",
    "member_id",
    "kind",
    "subject_id",
    "outcome",
    "post_id",
    "channel_id",
    "owner",
    "application_id",
    "interaction_token",
    "expires_at",
    "created_at",
)
_STORE = Prepared(insert_named(_ANSWERS, STORED_COLUMNS).returning(_ANSWERS.c.id))
# The sweep forgets what was delivered every two seconds (a hundred answers at 50 commands a
# second): statements built once, the list one parameter, so that forgetting them is not a
# pause every command arriving meanwhile waits out.
_FORGET_DELIVERED = Prepared(
    PerDialect(
        lambda insert: delete(_ANSWERS).where(is_one_of(_ANSWERS.c.id, "ids", insert, BigInteger()))
    )
)
_FORGET_EXPIRED = Prepared(delete(_ANSWERS).where(_ANSWERS.c.expires_at <= bindparam("now")))


def stored_values(
    *,
    server_id: int,
    member_id: int,
    kind: str,
    subject_id: int | None,
    outcome: str,
    ticket: AnswerTicket,
    post_id: int | None,
) -> dict[str, Any]:
    """An owed answer's row (``STORED_COLUMNS``).

    ``subject_id`` and ``post_id`` None: the statement storing it may fill them in (see
    ``at_once``).
    """
    return {
        "server_id": server_id,
        "member_id": member_id,
        "kind": kind,
        "subject_id": subject_id,
        "outcome": outcome,
        "post_id": post_id,
        "channel_id": ticket.channel_id,
        "owner": ticket.owner,
        "application_id": ticket.application_id,
        "interaction_token": ticket.token,
        "expires_at": ticket.expires_at,
        "created_at": ticket.expires_at - ANSWER_WINDOW,  # when the member acted
    }


class PendingAnswers:
    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._database = database
        self._clock = clock

    @staticmethod
    async def store(
        session: Rows,
        *,
        server_id: int,
        member_id: int,
        kind: str,
        subject_id: int,
        outcome: str,
        ticket: AnswerTicket,
        post_id: int | None = None,
    ) -> OwedAnswer:
        """Owe an answer, inside the transaction that stores the member's action."""
        values = stored_values(
            server_id=server_id,
            member_id=member_id,
            kind=kind,
            subject_id=subject_id,
            outcome=outcome,
            ticket=ticket,
            post_id=post_id,
        )
        stored = await _STORE.execute(session, values)
        return OwedAnswer(
            stored.scalar_one(), server_id, member_id, kind, subject_id, outcome, post_id, ticket
        )

    async def unexpired(self, worker_id: str, *, exclude: Iterable[int] = ()) -> list[OwedAnswer]:
        """Answers ``worker_id`` should deliver now, oldest first.

        Its own once OWN_GRACE old (before that, the command is completing it), those its
        slot's earlier runs left (a restart completes them at once), and any other worker's
        answer that has had OWNER_GRACE to be delivered by its owner.
        """
        skip = list(exclude)
        now = self._clock()
        owner = PendingAnswer.owner
        own = (owner == worker_id) & (PendingAnswer.created_at < now - OWN_GRACE)
        left_by_earlier_run = (owner != worker_id) & owner.startswith(
            f"{worker_slot(worker_id)}/", autoescape=True
        )
        async with self._database.read() as session:
            query = select(PendingAnswer).where(
                PendingAnswer.expires_at > now,
                own | left_by_earlier_run | (PendingAnswer.created_at < now - OWNER_GRACE),
            )
            if skip:
                query = query.where(PendingAnswer.id.not_in(skip))
            rows = (await session.execute(query.order_by(PendingAnswer.id))).scalars().all()
        return [_owed(row) for row in rows]

    async def forget(self, answer_ids: Iterable[int]) -> None:
        """Drop delivered answers, and every answer whose window has closed."""
        ids = list(answer_ids)
        async with self._database.write_rows() as session:
            if ids:
                await _FORGET_DELIVERED.execute(session, {"ids": ids})
            await _FORGET_EXPIRED.execute(session, {"now": self._clock()})


def _owed(row: PendingAnswer) -> OwedAnswer:
    return OwedAnswer(
        id=row.id,
        server_id=row.server_id,
        member_id=row.member_id,
        kind=row.kind,
        subject_id=row.subject_id,
        outcome=row.outcome,
        post_id=row.post_id,
        ticket=AnswerTicket(
            application_id=row.application_id,
            channel_id=row.channel_id,
            expires_at=row.expires_at,
            owner=row.owner,
            token=row.interaction_token,
        ),
    )
