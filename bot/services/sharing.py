"""Contribute: storing what members share, once per link per server, and who found it useful."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CTE, Insert, String, bindparam, cast, select, true
from sqlalchemy.dialects import postgresql

from bot.db import (
    ActivityEvent,
    Database,
    Member,
    OutboxPost,
    PendingAnswer,
    Resource,
    ResourceTag,
    utcnow,
)
from bot.db.chained_insert import given, insert_each, listed, parameters
from bot.db.prepared import Prepared
from bot.db.statements import Rows, insert_named, insert_new, table_of
from bot.errors import NotFound
from bot.habits import EventKind, Habit
from bot.services.answers import (
    STORED_COLUMNS,
    AnswerTicket,
    OwedAnswer,
    PendingAnswers,
    stored_values,
)
from bot.services.at_once import ActionAtOnce
from bot.services.members import (
    Actor,
    actor_upsert,
    actor_values,
    settings_if_current,
    touch_actor,
)
from bot.services.outbox import (
    Outbox,
    PostClaim,
    PostState,
    PostStatus,
    enqueued_values,
    new_claim,
)
from bot.services.pausing import refuse_if_paused
from bot.services.share_input import ShareInput

RESOURCE_CARD = "resource_card"
SHARE_ANSWER = "share"
USEFUL_ANSWER = "useful"


@dataclass(frozen=True, slots=True)
class SharedResource:
    id: int
    server_id: int
    url: str
    title: str | None
    note: str | None
    tags: tuple[str, ...]
    shared_by: int
    shared_by_name: str
    channel_id: int
    created_at: datetime
    # The resource's card in the outbox: on its way, posted (with its message), or failed.
    card: PostStatus | None


class ShareResult(enum.StrEnum):
    NEW = "new"
    # The link was already shared in this server: no second card.
    REPEAT = "repeat"
    # ...and its card had failed before, so this share tries to post it again.
    REPEAT_CARD_RETRIED = "repeat_card_retried"


@dataclass(frozen=True, slots=True)
class ShareOutcome:
    resource: SharedResource
    result: ShareResult
    # The card this command's worker posts now, if any (a new share, or a failed card retried).
    card_claim: PostClaim | None
    # The member's answer, owed until delivered.
    answer: OwedAnswer

    @property
    def is_new(self) -> bool:
        return self.result is ShareResult.NEW


class UsefulMark(enum.Enum):
    RECORDED = "recorded"
    ALREADY_MARKED = "already_marked"
    OWN_RESOURCE = "own_resource"


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
_CREATE_RESOURCE = Prepared(
    insert_new(
        _RESOURCES,
        RESOURCE_COLUMNS,
        unique=[_RESOURCES.c.server_id, _RESOURCES.c.url_hash],
        returning=_RESOURCES.c.id,
    )
)
_TAG_COLUMNS = ("resource_id", "tag", "server_id", "position")
_ADD_TAGS = Prepared(insert_named(_TAGS, _TAG_COLUMNS))
# A share's event is told from any other by its resource: the dedupe key is this and its id.
SHARE_DEDUPE_PREFIX = "share:"


def _new_resource_at_once() -> Insert:
    """A new link's resource, for ``_NEW_SHARE_AT_ONCE``: no row when it was shared before."""
    return (
        postgresql.insert(_RESOURCES)
        .values({column: given(_RESOURCES, "resource", column) for column in RESOURCE_COLUMNS})
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


_MARK_USEFUL_AT_ONCE = Prepared(_mark_at_once())
# On PostgreSQL: a new link's share in one statement (see ``at_once``).
_NEW_SHARE_AT_ONCE = ActionAtOnce(_new_resource_at_once, _its_tags_and_event)
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
    .where(_RESOURCES.c.server_id == bindparam("server_id"))
)
_RESOURCE_BY_URL = Prepared(_RESOURCE.where(_RESOURCES.c.url_hash == bindparam("url_hash")))
_RESOURCE_BY_ID = Prepared(_RESOURCE.where(_RESOURCES.c.id == bindparam("resource_id")))
_TAGS_OF = Prepared(
    select(_TAGS.c.tag)
    .where(_TAGS.c.resource_id == bindparam("resource_id"))
    .order_by(_TAGS.c.position)
)


async def _record_event(
    session: Rows,
    *,
    actor: Actor,
    kind: EventKind,
    habit: Habit | None,
    now: datetime,
    dedupe_key: str,
    resource_id: int | None = None,
    other_member_id: int | None = None,
    channel_id: int | None = None,
) -> bool:
    """Append one event; returns False when an event with the same dedupe key already exists."""
    result = await _RECORD_EVENT.execute(
        session,
        event_values(
            actor=actor,
            kind=kind,
            habit=habit,
            now=now,
            dedupe_key=dedupe_key,
            resource_id=resource_id,
            other_member_id=other_member_id,
            channel_id=channel_id,
        ),
    )
    return result.scalar_one_or_none() is not None


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


def _new_resource(
    actor: Actor, channel_id: int, share: ShareInput, resource_id: int, now: datetime
) -> SharedResource:
    """A resource this share just created (its card on its way)."""
    return SharedResource(
        id=resource_id,
        server_id=actor.server_id,
        url=share.url,
        title=share.title,
        note=share.note,
        tags=share.tags,
        shared_by=actor.user_id,
        shared_by_name=actor.display_name,
        channel_id=channel_id,
        created_at=now,
        card=None,
    )


def _useful_answer(
    actor: Actor,
    resource_id: int,
    mark: UsefulMark,
    ticket: AnswerTicket,
    stored_id: int | None = None,
) -> OwedAnswer:
    """The answer to a Useful press (``stored_id`` None: not stored, nothing changed)."""
    return OwedAnswer(
        id=stored_id,
        server_id=actor.server_id,
        member_id=actor.user_id,
        kind=USEFUL_ANSWER,
        subject_id=resource_id,
        outcome=mark.value,
        post_id=None,
        ticket=ticket,
    )


class SharingService:
    """Contribute: shares, their cards, and members marking them useful."""

    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._database = database
        self._clock = clock

    async def share(
        self,
        actor: Actor,
        channel_id: int,
        share: ShareInput,
        *,
        answer: AnswerTicket,
        card_channel: Callable[[int | None], int] | None = None,
        deliverer: str | None = None,
    ) -> ShareOutcome:
        """Store a share, or find the earlier share of the same link in this server.

        The card and the member's answer are owed in the same transaction (on PostgreSQL, a new
        link's in the same statement: ``at_once``), so once this returns neither can be
        lost. ``card_channel`` picks the card's channel from the server's shares
        channel setting (None when unset; by default the setting, else ``channel_id``).
        ``deliverer`` is the worker that posts the card next (by default: whichever sweeps).
        The unique (server, url_hash) key decides between two members sharing the same link at
        the same moment: exactly one of them creates the resource.
        """
        now = self._clock()
        choose = card_channel or (lambda configured: configured or channel_id)
        if not self._database.is_sqlite:
            stored = await self._share_new_at_once(
                actor, channel_id, share, answer=answer, choose=choose, deliverer=deliverer, now=now
            )
            if stored is not None:
                return stored
        async with self._database.write_rows() as session:
            settings = await touch_actor(session, actor, now, unless_paused=True)
            created = await _CREATE_RESOURCE.execute(
                session, resource_values(actor, channel_id, share, now)
            )
            new_id = created.scalar_one_or_none()
            claim: PostClaim | None = None
            if new_id is not None:
                await self._store_new(session, actor, channel_id, share, new_id, now)
                post_id, claim = await Outbox.enqueue(
                    session,
                    server_id=actor.server_id,
                    kind=RESOURCE_CARD,
                    subject_id=new_id,
                    channel_id=choose(settings.shares_channel_id),
                    now=now,
                    claim_for=deliverer,
                )
                result = ShareResult.NEW
                resource = _new_resource(actor, channel_id, share, new_id, now)
            else:
                resource = await self._load(session, actor.server_id, url_hash=share.url_hash)
                result = ShareResult.REPEAT
                if resource.card is None:  # a card never owed: owe it now
                    result = ShareResult.REPEAT_CARD_RETRIED
                    post_id, claim = await Outbox.enqueue(
                        session,
                        server_id=actor.server_id,
                        kind=RESOURCE_CARD,
                        subject_id=resource.id,
                        channel_id=choose(settings.shares_channel_id),
                        now=now,
                        claim_for=deliverer,
                    )
                else:
                    post_id = resource.card.post_id
                    if resource.card.state is PostState.FAILED:
                        result = ShareResult.REPEAT_CARD_RETRIED
                        claim = await Outbox.retry_failed(
                            session,
                            post_id,
                            channel_id=choose(settings.shares_channel_id),
                            now=now,
                            claim_for=deliverer,
                        )
                if resource.shared_by != actor.user_id:
                    await _record_event(
                        session,
                        actor=actor,
                        kind=EventKind.RESHARE,
                        habit=None,
                        now=now,
                        dedupe_key=f"reshare:{resource.id}:{actor.user_id}",
                        resource_id=resource.id,
                        other_member_id=resource.shared_by,
                        channel_id=channel_id,
                    )
            owed = await PendingAnswers.store(
                session,
                server_id=actor.server_id,
                member_id=actor.user_id,
                kind=SHARE_ANSWER,
                subject_id=resource.id,
                outcome=result.value,
                ticket=answer,
                post_id=post_id,
            )
        return ShareOutcome(resource=resource, result=result, card_claim=claim, answer=owed)

    async def _share_new_at_once(
        self,
        actor: Actor,
        channel_id: int,
        share: ShareInput,
        *,
        answer: AnswerTicket,
        choose: Callable[[int | None], int],
        deliverer: str | None,
        now: datetime,
    ) -> ShareOutcome | None:
        """On PostgreSQL, a new link's share in one statement (see ``at_once``); None
        when the link was shared before or the server's row needs writing first."""
        async with self._database.write_rows(one_statement=True) as rows:
            settings = await settings_if_current(rows, actor, unless_paused=True)
            if settings is None:
                return None
            card_channel_id = choose(settings.shares_channel_id)
            stored = await _NEW_SHARE_AT_ONCE.store(
                rows,
                member=actor_values(actor, now),
                resource=resource_values(actor, channel_id, share, now),
                tag={"tag": list(share.tags), "server_id": actor.server_id},
                # The event's dedupe key is completed with the new resource's id.
                event=event_values(
                    actor=actor,
                    kind=EventKind.SHARE,
                    habit=Habit.CONTRIBUTE,
                    now=now,
                    dedupe_key=SHARE_DEDUPE_PREFIX,
                    channel_id=channel_id,
                ),
                post=enqueued_values(
                    server_id=actor.server_id,
                    kind=RESOURCE_CARD,
                    subject_id=None,
                    channel_id=card_channel_id,
                    now=now,
                    claim_for=deliverer,
                ),
                answer=stored_values(
                    server_id=actor.server_id,
                    member_id=actor.user_id,
                    kind=SHARE_ANSWER,
                    subject_id=None,
                    outcome=ShareResult.NEW.value,
                    ticket=answer,
                    post_id=None,
                ),
            )
        if stored is None:
            return None
        claim = None
        if deliverer is not None:
            claim = new_claim(
                stored.post_id,
                server_id=actor.server_id,
                kind=RESOURCE_CARD,
                subject_id=stored.subject_id,
                channel_id=card_channel_id,
                now=now,
                claim_for=deliverer,
            )
        owed = OwedAnswer(
            stored.answer_id,
            actor.server_id,
            actor.user_id,
            SHARE_ANSWER,
            stored.subject_id,
            ShareResult.NEW.value,
            stored.post_id,
            answer,
        )
        return ShareOutcome(
            resource=_new_resource(actor, channel_id, share, stored.subject_id, now),
            result=ShareResult.NEW,
            card_claim=claim,
            answer=owed,
        )

    @staticmethod
    async def _store_new(
        session: Rows,
        actor: Actor,
        channel_id: int,
        share: ShareInput,
        resource_id: int,
        now: datetime,
    ) -> None:
        if share.tags:
            await _ADD_TAGS.execute_many(
                session,
                [
                    {
                        "resource_id": resource_id,
                        "tag": tag,
                        "server_id": actor.server_id,
                        "position": position,
                    }
                    for position, tag in enumerate(share.tags)
                ],
            )
        await _record_event(
            session,
            actor=actor,
            kind=EventKind.SHARE,
            habit=Habit.CONTRIBUTE,
            now=now,
            dedupe_key=f"{SHARE_DEDUPE_PREFIX}{resource_id}",
            resource_id=resource_id,
            channel_id=channel_id,
        )

    async def mark_useful(
        self, actor: Actor, resource_id: int, *, answer: AnswerTicket
    ) -> tuple[UsefulMark, SharedResource, OwedAnswer]:
        """Record that ``actor`` found a resource useful: once per member, never for one's own.

        Only a recorded mark stores its answer: when nothing changed, nothing is owed.
        """
        now = self._clock()
        if not self._database.is_sqlite:
            marked = await self._mark_useful_at_once(actor, resource_id, answer=answer, now=now)
            if marked is not None:
                return marked
        async with self._database.write_rows() as session:
            # Raises NotFound for a resource that is gone or belongs to another server.
            resource = await self._load(session, actor.server_id, resource_id=resource_id)
            mark = UsefulMark.OWN_RESOURCE
            if resource.shared_by != actor.user_id:
                await refuse_if_paused(
                    session, actor.server_id, actor.user_id, others=[resource.shared_by]
                )
                await touch_actor(session, actor, now)
                recorded = await _record_event(
                    session,
                    actor=actor,
                    kind=EventKind.MARKED_USEFUL,
                    habit=None,
                    now=now,
                    dedupe_key=f"useful:{resource_id}:{actor.user_id}",
                    resource_id=resource_id,
                    other_member_id=resource.shared_by,
                )
                mark = UsefulMark.RECORDED if recorded else UsefulMark.ALREADY_MARKED
            if mark is UsefulMark.RECORDED:
                owed = await PendingAnswers.store(
                    session,
                    server_id=actor.server_id,
                    member_id=actor.user_id,
                    kind=USEFUL_ANSWER,
                    subject_id=resource_id,
                    outcome=mark.value,
                    ticket=answer,
                )
            else:
                owed = _useful_answer(actor, resource_id, mark, answer)
        return mark, resource, owed

    async def _mark_useful_at_once(
        self, actor: Actor, resource_id: int, *, answer: AnswerTicket, now: datetime
    ) -> tuple[UsefulMark, SharedResource, OwedAnswer] | None:
        """On PostgreSQL, the reads, then the member, the mark and its answer in one statement
        (see ``at_once``); None when the server's row needs writing first."""
        async with self._database.write_rows(one_statement=True) as rows:
            resource = await self._load(rows, actor.server_id, resource_id=resource_id)
            if resource.shared_by == actor.user_id:
                mark = UsefulMark.OWN_RESOURCE
                return mark, resource, _useful_answer(actor, resource_id, mark, answer)
            await refuse_if_paused(
                rows, actor.server_id, actor.user_id, others=[resource.shared_by]
            )
            if await settings_if_current(rows, actor) is None:
                return None
            mark_event = event_values(
                actor=actor,
                kind=EventKind.MARKED_USEFUL,
                habit=None,
                now=now,
                dedupe_key=f"useful:{resource_id}:{actor.user_id}",
                resource_id=resource_id,
                other_member_id=resource.shared_by,
            )
            owed_answer = stored_values(
                server_id=actor.server_id,
                member_id=actor.user_id,
                kind=USEFUL_ANSWER,
                subject_id=resource_id,
                outcome=UsefulMark.RECORDED.value,
                ticket=answer,
                post_id=None,
            )
            params = parameters(event=mark_event, answer=owed_answer)
            params.update(actor_values(actor, now))
            answer_id = (await _MARK_USEFUL_AT_ONCE.execute(rows, params)).scalar_one_or_none()
        if answer_id is None:
            mark = UsefulMark.ALREADY_MARKED
            return mark, resource, _useful_answer(actor, resource_id, mark, answer)
        owed = _useful_answer(actor, resource_id, UsefulMark.RECORDED, answer, answer_id)
        return UsefulMark.RECORDED, resource, owed

    async def resource(self, server_id: int, resource_id: int) -> SharedResource:
        """One resource with its card's state; raises NotFound if it is gone."""
        async with self._database.read_rows() as session:
            return await self._load(session, server_id, resource_id=resource_id)

    @staticmethod
    async def _load(
        session: Rows,
        server_id: int,
        *,
        url_hash: str | None = None,
        resource_id: int | None = None,
    ) -> SharedResource:
        if url_hash is not None:
            found = await _RESOURCE_BY_URL.execute(
                session, {"server_id": server_id, "url_hash": url_hash}
            )
        else:
            found = await _RESOURCE_BY_ID.execute(
                session, {"server_id": server_id, "resource_id": resource_id}
            )
        row = found.one_or_none()
        if row is None:
            raise NotFound("That resource is no longer here.")
        tags = (await _TAGS_OF.execute(session, {"resource_id": row.id})).scalars()
        return SharedResource(
            id=row.id,
            server_id=row.server_id,
            url=row.url,
            title=row.title,
            note=row.note,
            tags=tuple(tags),
            shared_by=row.shared_by,
            shared_by_name=row.display_name,
            channel_id=row.channel_id,
            created_at=row.created_at,
            card=None
            if row.post_id is None
            else PostStatus(
                post_id=row.post_id,
                state=PostState(row.state),
                channel_id=row.post_channel_id,
                message_id=row.message_id,
                problem=row.last_error,
                error_code=row.error_code,
            ),
        )
