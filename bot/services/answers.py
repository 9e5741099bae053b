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

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database, PendingAnswer, utcnow

# Discord keeps an interaction token valid for 15 minutes; stop a little earlier so an edit
# started at the last moment still lands.
ANSWER_WINDOW = timedelta(minutes=15) - timedelta(seconds=20)


@dataclass(frozen=True, slots=True)
class AnswerTicket:
    """What the bot needs to answer one interaction later: who, where, and its token."""

    application_id: int
    channel_id: int
    expires_at: datetime
    token: str = field(repr=False)

    @classmethod
    def for_interaction(
        cls, *, application_id: int, channel_id: int, token: str, created_at: datetime
    ) -> AnswerTicket:
        return cls(application_id, channel_id, created_at + ANSWER_WINDOW, token)


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


class PendingAnswers:
    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._database = database
        self._clock = clock

    @staticmethod
    async def store(
        session: AsyncSession,
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
        answer_id = await session.scalar(
            insert(PendingAnswer)
            .values(
                server_id=server_id,
                member_id=member_id,
                kind=kind,
                subject_id=subject_id,
                outcome=outcome,
                post_id=post_id,
                channel_id=ticket.channel_id,
                application_id=ticket.application_id,
                interaction_token=ticket.token,
                expires_at=ticket.expires_at,
                created_at=utcnow(),
            )
            .returning(PendingAnswer.id)
        )
        return OwedAnswer(
            answer_id, server_id, member_id, kind, subject_id, outcome, post_id, ticket
        )

    async def unexpired(self, *, exclude: Iterable[int] = ()) -> list[OwedAnswer]:
        """Answers still deliverable, oldest first (at start-up: what the last run left)."""
        skip = list(exclude)
        async with self._database.read() as session:
            query = select(PendingAnswer).where(PendingAnswer.expires_at > self._clock())
            if skip:
                query = query.where(PendingAnswer.id.not_in(skip))
            rows = (await session.execute(query.order_by(PendingAnswer.id))).scalars().all()
        return [_owed(row) for row in rows]

    async def forget(self, answer_ids: Iterable[int]) -> None:
        """Drop delivered answers, and every answer whose window has closed."""
        ids = list(answer_ids)
        async with self._database.write() as session:
            if ids:
                await session.execute(delete(PendingAnswer).where(PendingAnswer.id.in_(ids)))
            await session.execute(
                delete(PendingAnswer).where(PendingAnswer.expires_at <= self._clock())
            )


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
            token=row.interaction_token,
        ),
    )
