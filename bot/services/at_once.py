"""A member's action stored with all it owes in one statement on PostgreSQL: one round trip.

On PostgreSQL every statement is a round trip to the server's process and back, and for the
commands that store something, that trip, not the SQL, was most of the database's cost:
written the ordinary way, a /share took nine (BEGIN, the member, the resource, its tags, its
event, the card owed, the answer owed, COMMIT) and an /ask ten, each waking the server's
process and the bot's event loop once more. One statement is atomic on its own, so here every
row goes in one (``chained_insert``) and needs no BEGIN and no COMMIT. The server's settings are
read just before, outside any transaction, as READ COMMITTED would read them inside one (each
statement sees what was committed when it started).

Only the usual case goes this way: a server whose row is there under its current name, and a
subject that is new (a share of a link already shared inserts nothing). Anything else leaves
nothing written but the member's row, and the ordinary path runs, which writes that row again.
SQLite runs statements inside the bot's process, without round trips: it keeps the ordinary
path, and the tests run both on both backends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CTE, Insert, select, true
from sqlalchemy.dialects import postgresql

from bot.db import OutboxPost, PendingAnswer
from bot.db.chained_insert import insert_each, parameters
from bot.db.prepared import Prepared
from bot.db.statements import Rows, table_of
from bot.services.answers import STORED_COLUMNS
from bot.services.members import actor_upsert
from bot.services.outbox import ENQUEUED_COLUMNS

_POSTS = table_of(OutboxPost)
_ANSWERS = table_of(PendingAnswer)


@dataclass(frozen=True, slots=True)
class StoredAtOnce:
    subject_id: int
    post_id: int
    answer_id: int


class ActionAtOnce:
    """The member's row, a new subject (``subject``, returning its id) and the rows that name
    it (``followers``), the subject's post owed and the member's answer owed: one statement.

    Parts, each given as the dict of column values its ordinary INSERT takes: ``member`` (as
    ``members.actor_values``), ``post`` and ``answer`` (as ``outbox.enqueued_values`` and
    ``answers.stored_values``, the subject and post ids left None: filled in here), and those
    ``subject`` and ``followers`` name.
    """

    def __init__(
        self, subject: Callable[[], Insert], followers: Callable[[CTE], Sequence[Insert]]
    ) -> None:
        self._subject = subject
        self._followers = followers
        self._statement: Prepared[Any] | None = None

    def _build(self) -> Prepared[Any]:
        new = self._subject().cte("subject")
        follow = [insert.cte(f"follower_{i}") for i, insert in enumerate(self._followers(new))]
        member = actor_upsert(postgresql.insert).cte("member")
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
        self, rows: Rows, *, member: Mapping[str, Any], **parts: Mapping[str, Any]
    ) -> StoredAtOnce | None:
        """Write it all; None when the subject inserted nothing (only the member's row is)."""
        if self._statement is None:
            self._statement = self._build()
        params = parameters(**parts)
        params.update(member)
        row = (await self._statement.execute(rows, params)).one_or_none()
        if row is None:
            return None
        return StoredAtOnce(subject_id=row.id, post_id=row.post_id, answer_id=row.answer_id)
