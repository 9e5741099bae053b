"""The rows a share and a Useful mark write, and the statements that write and read them.

Built once at import (see ``bot.db.statements``); ``SharingService`` decides which run. On
PostgreSQL a new share and a Useful mark are written in one statement each (``at_once``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import CTE, Insert, String, bindparam, cast, select, true
from sqlalchemy.dialects import postgresql

from bot.db import (
    ActivityEvent,
    Member,
    OutboxPost,
    PendingAnswer,
    Resource,
    ResourceTag,
    Server,
)
from bot.db.chained_insert import given, insert_each, listed
from bot.db.prepared import Prepared
from bot.db.statements import Rows, insert_named, insert_new, table_of
from bot.habits import EventKind, Habit
from bot.services.answers import STORED_COLUMNS
from bot.services.at_once import ActionAtOnce
from bot.services.members import Actor, acting_server_columns, actor_upsert
from bot.services.share_input import ShareInput

RESOURCE_CARD = "resource_card"

_EVENTS = table_of(ActivityEvent)
_PENDING = table_of(PendingAnswer)
_RESOURCES = table_of(Resource)
_TAGS = table_of(ResourceTag)
EVENT_COLUMNS = (
    "server_id",
    "member_id",
    "kind",
    "habit",
    "occurred_at",
    "resource_id",
    "other_member_id",
    "channel_id",
    "dedupe_key",
)
RESOURCE_COLUMNS = (
    "server_id",
    "shared_by",
    "url",
    "url_hash",
    "title",
    "note",
    "channel_id",
    "created_at",
)
_RECORD_EVENT = Prepared(
    insert_new(
        _EVENTS,
        EVENT_COLUMNS,
        unique=[_EVENTS.c.server_id, _EVENTS.c.dedupe_key],
        returning=_EVENTS.c.id,
    )
)
CREATE_RESOURCE = Prepared(
    insert_new(
        _RESOURCES,
        RESOURCE_COLUMNS,
        unique=[_RESOURCES.c.server_id, _RESOURCES.c.url_hash],
        returning=_RESOURCES.c.id,
    )
)
_TAG_COLUMNS = ("resource_id", "tag", "server_id", "position")
ADD_TAGS = Prepared(insert_named(_TAGS, _TAG_COLUMNS))
# A share's event is told from any other by its resource: the dedupe key is this and its id.
SHARE_DEDUPE_PREFIX = "share:"


def _new_resource_at_once(acting: CTE) -> Insert:
    """A new link's resource, for ``NEW_SHARE_AT_ONCE``: no row when it was shared before, or
    the server is not as known (``acting`` has no row)."""
    return (
        insert_each(_RESOURCES, "resource", RESOURCE_COLUMNS, {}, acting)
        .on_conflict_do_nothing(index_elements=[_RESOURCES.c.server_id, _RESOURCES.c.url_hash])
        .returning(_RESOURCES.c.id)
    )


def _its_tags_and_event(new: CTE) -> list[Insert]:
    tag = listed("tag", {"tag": String()})
    dedupe_key = given(_EVENTS, "event", "dedupe_key") + cast(new.c.id, String())
    return [
        insert_each(
            _TAGS,
            "tag",
            _TAG_COLUMNS,
            {"resource_id": new.c.id, "tag": tag.c.tag, "position": tag.c.ordinality - 1},
            new.join(tag, true()),
        ),
        insert_each(
            _EVENTS,
            "event",
            EVENT_COLUMNS,
            {"resource_id": new.c.id, "dedupe_key": dedupe_key},
            new,
        ),
    ]


def _mark_at_once() -> Any:
    """The member's row, a Useful mark (none if they marked it before) and, for a new mark, its
    answer owed: one statement on PostgreSQL (``chained_insert``), returning the answer's id."""
    member = actor_upsert(postgresql.insert).cte("member")
    mark = (
        postgresql.insert(_EVENTS)
        .values({column: given(_EVENTS, "event", column) for column in EVENT_COLUMNS})
        .on_conflict_do_nothing(index_elements=[_EVENTS.c.server_id, _EVENTS.c.dedupe_key])
        .returning(_EVENTS.c.id)
        .cte("mark")
    )
    owed = insert_each(_PENDING, "answer", STORED_COLUMNS, {}, mark).returning(_PENDING.c.id)
    return select(owed.cte("owed").c.id).add_cte(member)


MARK_USEFUL_AT_ONCE = Prepared(_mark_at_once())
# On PostgreSQL: a new link's share in one statement (see ``at_once``).
NEW_SHARE_AT_ONCE = ActionAtOnce(_new_resource_at_once, _its_tags_and_event)
_MEMBERS = table_of(Member)
_POSTS = table_of(OutboxPost)
# A resource with its sharer's name and its card's status (``post_id`` None: no card owed).
_RESOURCE = (
    select(
        _RESOURCES.c.id,
        _RESOURCES.c.server_id,
        _RESOURCES.c.url,
        _RESOURCES.c.title,
        _RESOURCES.c.note,
        _RESOURCES.c.shared_by,
        _RESOURCES.c.channel_id,
        _RESOURCES.c.created_at,
        _MEMBERS.c.display_name,
        _POSTS.c.id.label("post_id"),
        _POSTS.c.state,
        _POSTS.c.channel_id.label("post_channel_id"),
        _POSTS.c.message_id,
        _POSTS.c.last_error,
        _POSTS.c.error_code,
        _TAGS.c.tag,
    )
    .join(
        _MEMBERS,
        (_MEMBERS.c.server_id == _RESOURCES.c.server_id)
        & (_MEMBERS.c.user_id == _RESOURCES.c.shared_by),
    )
    .outerjoin(
        _POSTS,
        (_POSTS.c.server_id == _RESOURCES.c.server_id)
        & (_POSTS.c.kind == RESOURCE_CARD)
        & (_POSTS.c.subject_id == _RESOURCES.c.id),
    )
    # Its tags in the same statement, one row each: a second round trip on PostgreSQL.
    .outerjoin(_TAGS, _TAGS.c.resource_id == _RESOURCES.c.id)
    .where(_RESOURCES.c.server_id == bindparam("server_id"))
    .order_by(_TAGS.c.position)
)
RESOURCE_BY_URL = Prepared(_RESOURCE.where(_RESOURCES.c.url_hash == bindparam("url_hash")))
RESOURCE_BY_ID = Prepared(_RESOURCE.where(_RESOURCES.c.id == bindparam("resource_id")))
_SERVERS = table_of(Server)
# A resource with what a Useful mark also needs to know first (``members.settings_of``): its
# server's name and settings, and whether the member marking it (``user_id``) or its sharer
# paused tracking. On PostgreSQL one round trip, where reading them apart took two.
RESOURCE_AND_SERVER_BY_ID = Prepared(
    _RESOURCE.add_columns(*acting_server_columns(_RESOURCES.c.shared_by))
    .join(_SERVERS, _SERVERS.c.id == _RESOURCES.c.server_id)
    .where(_RESOURCES.c.id == bindparam("resource_id"))
)


async def record_event(session: Rows, values: Mapping[str, Any]) -> bool:
    """Append one event (``event_values``); False when one with its dedupe key exists."""
    result = await _RECORD_EVENT.execute(session, values)
    return result.scalar_one_or_none() is not None


def share_event(
    actor: Actor, channel_id: int, now: datetime, resource_id: int | None
) -> dict[str, Any]:
    """A share's event. ``resource_id`` None: the one-statement write fills it in, and
    completes the dedupe key with it."""
    suffix = "" if resource_id is None else str(resource_id)
    return event_values(
        actor=actor,
        kind=EventKind.SHARE,
        habit=Habit.CONTRIBUTE,
        now=now,
        dedupe_key=f"{SHARE_DEDUPE_PREFIX}{suffix}",
        resource_id=resource_id,
        channel_id=channel_id,
    )


def useful_event(actor: Actor, resource_id: int, shared_by: int, now: datetime) -> dict[str, Any]:
    """A Useful mark's event: one per member and resource (its dedupe key)."""
    return event_values(
        actor=actor,
        kind=EventKind.MARKED_USEFUL,
        habit=None,
        now=now,
        dedupe_key=f"useful:{resource_id}:{actor.user_id}",
        resource_id=resource_id,
        other_member_id=shared_by,
    )


def event_values(
    *,
    actor: Actor,
    kind: EventKind,
    habit: Habit | None,
    now: datetime,
    dedupe_key: str | None,
    resource_id: int | None = None,
    other_member_id: int | None = None,
    channel_id: int | None = None,
) -> dict[str, Any]:
    """An event's row (``EVENT_COLUMNS``)."""
    return {
        "server_id": actor.server_id,
        "member_id": actor.user_id,
        "kind": kind.value,
        "habit": habit.value if habit else None,
        "occurred_at": now,
        "resource_id": resource_id,
        "other_member_id": other_member_id,
        "channel_id": channel_id,
        "dedupe_key": dedupe_key,
    }


def resource_values(
    actor: Actor, channel_id: int, share: ShareInput, now: datetime
) -> dict[str, Any]:
    """A new resource's row (``RESOURCE_COLUMNS``)."""
    return {
        "server_id": actor.server_id,
        "shared_by": actor.user_id,
        "url": share.url,
        "url_hash": share.url_hash,
        "title": share.title,
        "note": share.note,
        "channel_id": channel_id,
        "created_at": now,
    }
