"""A member's action stored with all it owes in one statement on PostgreSQL: one round trip.

On PostgreSQL every statement is a round trip to the server's process and back, and for the
commands that store something, that trip, not the SQL, was most of the database's cost:
written the ordinary way, a /share took nine (BEGIN, the member, the resource, its tags, its
event, the card owed, the answer owed, COMMIT) and an /ask ten, each waking the server's
process and the bot's event loop once more. One statement is atomic on its own, so here every
row goes in one (``chained_insert``) and needs no BEGIN and no COMMIT. The server's settings are
not read first: the statement is given the settings this process last saw for the server
(``KnownSettings``) and writes nothing unless the server's row still has them, is under its
current name, and the member has not paused tracking (``members.server_as_known``), exactly when
reading them first would have let it go on. The first action in a server after start-up, or
after its settings changed, reads them first, as READ COMMITTED would inside a transaction.

Only the usual case goes this way: a server as known, and a subject that is new (a share of a
link already shared inserts nothing). Anything else leaves nothing written but, at most, the
member's row, and the ordinary path runs: it writes that row again, reads the settings (and
tells this process's ``KnownSettings``), or refuses a member who paused.
SQLite runs statements inside the bot's process, without round trips: it keeps the ordinary
path, and the tests run both on both backends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CTE, Insert, select, true

from bot.db import OutboxPost, PendingAnswer
from bot.db.chained_insert import insert_each, parameters
from bot.db.prepared import Prepared
from bot.db.statements import Rows, table_of
from bot.services.answers import STORED_COLUMNS, AnswerTicket, OwedAnswer, stored_values
from bot.services.members import (
    Actor,
    ServerSettings,
    actor_upsert_where,
    actor_values,
    known_values,
    server_as_known,
    settings_if_current,
)
from bot.services.outbox import ENQUEUED_COLUMNS, PostClaim, enqueued_values, new_claim

_POSTS = table_of(OutboxPost)
_ANSWERS = table_of(PendingAnswer)


@dataclass(frozen=True, slots=True)
class StoredAtOnce:
    subject_id: int
    # The subject's post, claimed by the deliverer if one was named.
    post_id: int
    claim: PostClaim | None
    answer: OwedAnswer


@dataclass(frozen=True, slots=True)
class Owed:
    """What the action owes: its subject's post (where, and which worker posts it next) and
    the member's answer (its kind and outcome, and the interaction to answer)."""

    post_kind: str
    channel_id: int
    deliverer: str | None
    answer_kind: str
    outcome: str
    ticket: AnswerTicket


class KnownSettings:
    """The settings each server's row had when this process last read them (one entry per
    server it served): what a one-statement write expects to find, and checks it finds."""

    def __init__(self) -> None:
        self._known: dict[int, ServerSettings] = {}

    async def expected(self, rows: Rows, actor: Actor) -> ServerSettings | None:
        """The settings a one-statement write in ``actor``'s server expects: those seen last,
        else read now (the first action there since start-up), as ``settings_if_current``
        reads them (None: the server's row must be written first; a paused member refused).
        """
        known = self._known.get(actor.server_id)
        if known is None:
            known = await settings_if_current(rows, actor)
            if known is not None:
                self.saw(actor.server_id, known)
        return known

    def saw(self, server_id: int, settings: ServerSettings) -> None:
        self._known[server_id] = settings


class ActionAtOnce:
    """The member's row, a new subject (``subject``, returning its id) and the rows that name
    it (``followers``), the subject's post owed and the member's answer owed: one statement.

    The member's row, the post and the answer are made here as the ordinary path makes them
    (``actor_values``, ``enqueued_values``, ``stored_values``, ``new_claim``); the parts that
    ``subject`` and ``followers`` name are given as the dicts of column values their ordinary
    INSERTs take. ``subject`` inserts a row per row of the server as known (``acting``: one
    row, or none when the server's row is not as known), and so does the member's row.
    """

    def __init__(
        self, subject: Callable[[CTE], Insert], followers: Callable[[CTE], Sequence[Insert]]
    ) -> None:
        self._subject = subject
        self._followers = followers
        self._statement: Prepared[Any] | None = None

    def _build(self) -> Prepared[Any]:
        acting = server_as_known().cte("acting")
        new = self._subject(acting).cte("subject")
        follow = [insert.cte(f"follower_{i}") for i, insert in enumerate(self._followers(new))]
        member = actor_upsert_where(acting).cte("member")
        post = (
            insert_each(_POSTS, "post", ENQUEUED_COLUMNS, {"subject_id": new.c.id}, new)
            .returning(_POSTS.c.id)
            .cte("post")
        )
        answer = (
            insert_each(
                _ANSWERS,
                "answer",
                STORED_COLUMNS,
                {"subject_id": new.c.id, "post_id": post.c.id},
                new.join(post, true()),
            )
            .returning(_ANSWERS.c.id)
            .cte("answer")
        )
        return Prepared(
            select(new.c.id, post.c.id.label("post_id"), answer.c.id.label("answer_id"))
            .select_from(new.join(post, true()).join(answer, true()))
            .add_cte(member, *follow)
        )

    async def store(
        self,
        rows: Rows,
        actor: Actor,
        now: datetime,
        owed: Owed,
        known: ServerSettings,
        **parts: Mapping[str, Any],
    ) -> StoredAtOnce | None:
        """Write it all, if the server's row is as ``known`` (``server_as_known``); None when
        the subject inserted nothing (then at most the member's row is written)."""
        if self._statement is None:
            self._statement = self._build()
        post = enqueued_values(
            server_id=actor.server_id,
            kind=owed.post_kind,
            subject_id=None,
            channel_id=owed.channel_id,
            now=now,
            claim_for=owed.deliverer,
        )
        answer = stored_values(
            server_id=actor.server_id,
            member_id=actor.user_id,
            kind=owed.answer_kind,
            subject_id=None,
            outcome=owed.outcome,
            ticket=owed.ticket,
            post_id=None,
        )
        params = parameters(post=post, answer=answer, **parts)
        params.update(actor_values(actor, now))
        params.update(known_values(actor, known))
        row = (await self._statement.execute(rows, params)).one_or_none()
        if row is None:
            return None
        claim = None
        if owed.deliverer is not None:
            claim = new_claim(
                row.post_id,
                server_id=actor.server_id,
                kind=owed.post_kind,
                subject_id=row.id,
                channel_id=owed.channel_id,
                now=now,
                claim_for=owed.deliverer,
            )
        member_answer = OwedAnswer(
            row.answer_id,
            actor.server_id,
            actor.user_id,
            owed.answer_kind,
            row.id,
            owed.outcome,
            row.post_id,
            owed.ticket,
        )
        return StoredAtOnce(
            subject_id=row.id, post_id=row.post_id, claim=claim, answer=member_answer
        )
