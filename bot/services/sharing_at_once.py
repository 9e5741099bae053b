"""A new share written in one statement on PostgreSQL: one round trip, no transaction.

On PostgreSQL every statement is a round trip to the server's process and back, and for a
share that trip, not the SQL, was most of the database's cost: written the ordinary way (BEGIN,
the member, the resource, its tags, its event, the card owed, the answer owed, COMMIT) a share
took nine, each waking the server's process and the bot's event loop once more. One statement
is atomic on its own, so here every row of a new share goes in one (INSERTs chained by WITH,
each later one taking the new resource's id from the first) and needs no BEGIN and no COMMIT.
The server's settings are read just before, outside any transaction, as they would have been
read inside one at READ COMMITTED (each statement sees what was committed when it started).

Only the usual case goes this way: a link new to the server, in a server whose row is there
under its current name. Anything else (the link was shared before, the server's row must be
made or renamed) writes nothing here but the member's row, and the ordinary path runs. SQLite
runs statements inside the bot's process, without round trips, so it keeps the ordinary path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    FromClause,
    Insert,
    String,
    Table,
    bindparam,
    cast,
    func,
    select,
    true,
)
from sqlalchemy.dialects import postgresql

from bot.db import ActivityEvent, OutboxPost, PendingAnswer, Resource, ResourceTag
from bot.db.prepared import Prepared
from bot.db.statements import Rows, table_of
from bot.services.answers import STORED_COLUMNS
from bot.services.members import actor_upsert
from bot.services.outbox import ENQUEUED_COLUMNS

_RESOURCES = table_of(Resource)
_TAGS = table_of(ResourceTag)
_EVENTS = table_of(ActivityEvent)
_POSTS = table_of(OutboxPost)
_ANSWERS = table_of(PendingAnswer)


@dataclass(frozen=True, slots=True)
class StoredAtOnce:
    resource_id: int
    post_id: int
    answer_id: int


def _bound(table: Table, part: str, column: str) -> Any:
    """The value of ``column`` given by the caller, as ``<part>_<column>``."""
    return bindparam(f"{part}_{column}", type_=table.c[column].type)


def _insert_from(
    table: Table,
    part: str,
    columns: Sequence[str],
    taken: Mapping[str, ColumnElement[Any]],
    source: FromClause,
) -> Insert:
    """INSERT one row per row of ``source``: ``taken`` columns from it, the rest given."""
    values = [
        taken[column] if column in taken else _bound(table, part, column) for column in columns
    ]
    return postgresql.insert(table).from_select(list(columns), select(*values).select_from(source))


class NewShareAtOnce:
    """The statement, built on first use from the columns the ordinary path writes."""

    def __init__(self, resource_columns: Sequence[str], event_columns: Sequence[str]) -> None:
        self._resource_columns = tuple(resource_columns)
        self._event_columns = tuple(event_columns)
        self._statement: Prepared[Any] | None = None

    def _build(self) -> Prepared[Any]:
        new = (
            postgresql.insert(_RESOURCES)
            .values({c: _bound(_RESOURCES, "resource", c) for c in self._resource_columns})
            .on_conflict_do_nothing(index_elements=[_RESOURCES.c.server_id, _RESOURCES.c.url_hash])
            .returning(_RESOURCES.c.id)
            .cte("new_resource")
        )
        member: CTE = actor_upsert(postgresql.insert).cte("member")
        tag = (
            func.unnest(bindparam("tags", type_=postgresql.ARRAY(String())))
            .table_valued("tag", with_ordinality="ordinality")
            .render_derived(name="tag_list")
        )
        tags = _insert_from(
            _TAGS,
            "tag",
            ("resource_id", "tag", "server_id", "position"),
            {"resource_id": new.c.id, "tag": tag.c.tag, "position": tag.c.ordinality - 1},
            new.join(tag, true()),
        ).cte("tags")
        dedupe_key = _bound(_EVENTS, "event", "dedupe_key") + cast(new.c.id, String())
        event = _insert_from(
            _EVENTS,
            "event",
            self._event_columns,
            {"resource_id": new.c.id, "dedupe_key": dedupe_key},
            new,
        ).cte("event")
        card = (
            _insert_from(_POSTS, "post", ENQUEUED_COLUMNS, {"subject_id": new.c.id}, new)
            .returning(_POSTS.c.id)
            .cte("card")
        )
        answer = (
            _insert_from(
                _ANSWERS,
                "answer",
                STORED_COLUMNS,
                {"subject_id": new.c.id, "post_id": card.c.id},
                new.join(card, true()),
            )
            .returning(_ANSWERS.c.id)
            .cte("answer")
        )
        return Prepared(
            select(new.c.id, card.c.id.label("post_id"), answer.c.id.label("answer_id"))
            .select_from(new.join(card, true()).join(answer, true()))
            .add_cte(member, tags, event)
        )

    async def store(
        self,
        rows: Rows,
        *,
        member: Mapping[str, Any],
        resource: Mapping[str, Any],
        tags: Sequence[str],
        event: Mapping[str, Any],
        post: Mapping[str, Any],
        answer: Mapping[str, Any],
    ) -> StoredAtOnce | None:
        """Write the member's row, and a new resource with its tags, event, card owed and
        answer owed; None when the link was there already (then only the member's row is).

        The rows are as the ordinary path writes them, except what the new resource's id
        decides: the event's ``dedupe_key`` is given as its prefix (``share:``), and the
        resource id in the event, the card and the answer, and the card in the answer, are
        filled in here.
        """
        if self._statement is None:
            self._statement = self._build()
        params: dict[str, Any] = dict(member)
        params["tags"] = list(tags)
        params["tag_server_id"] = resource["server_id"]
        for part, values in (
            ("resource", resource),
            ("event", event),
            ("post", post),
            ("answer", answer),
        ):
            params.update((f"{part}_{column}", value) for column, value in values.items())
        row = (await self._statement.execute(rows, params)).one_or_none()
        if row is None:
            return None
        return StoredAtOnce(resource_id=row.id, post_id=row.post_id, answer_id=row.answer_id)
