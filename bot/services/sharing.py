"""Contribute: storing what members share, once per link per server, and who found it useful."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.db import (
    Database,
    utcnow,
)
from bot.db.chained_insert import parameters
from bot.db.statements import Rows
from bot.errors import NotFound
from bot.habits import EventKind
from bot.services.answers import (
    AnswerTicket,
    OwedAnswer,
    PendingAnswers,
    stored_values,
)
from bot.services.at_once import KnownSettings, Owed
from bot.services.members import (
    Actor,
    actor_values,
    settings_of,
    touch_actor,
)
from bot.services.outbox import (
    Outbox,
    PostClaim,
    PostState,
    PostStatus,
)
from bot.services.pausing import refuse_if_paused
from bot.services.share_input import ShareInput
from bot.services.sharing_rows import (
    ADD_TAGS,
    CREATE_RESOURCE,
    MARK_USEFUL_AT_ONCE,
    NEW_SHARE_AT_ONCE,
    RESOURCE_AND_SERVER_BY_ID,
    RESOURCE_BY_ID,
    RESOURCE_BY_URL,
    RESOURCE_CARD,
    event_values,
    record_event,
    resource_values,
    share_event,
    useful_event,
)

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
        self._known_settings = KnownSettings()

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
            self._known_settings.saw(actor.server_id, settings)
            created = await CREATE_RESOURCE.execute(
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
                    reshared = event_values(
                        actor=actor,
                        kind=EventKind.RESHARE,
                        habit=None,
                        now=now,
                        dedupe_key=f"reshare:{resource.id}:{actor.user_id}",
                        resource_id=resource.id,
                        other_member_id=resource.shared_by,
                        channel_id=channel_id,
                    )
                    await record_event(session, reshared)
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
        """On PostgreSQL, a new link's share in one statement (see ``at_once``); None when
        the link was shared before, or the server's row is not as known (or not there yet):
        the ordinary path then writes it, or refuses a paused member."""
        async with self._database.write_rows(one_statement=True) as rows:
            settings = await self._known_settings.expected(rows, actor)
            if settings is None:
                return None
            stored = await NEW_SHARE_AT_ONCE.store(
                rows,
                actor,
                now,
                Owed(
                    post_kind=RESOURCE_CARD,
                    channel_id=choose(settings.shares_channel_id),
                    deliverer=deliverer,
                    answer_kind=SHARE_ANSWER,
                    outcome=ShareResult.NEW.value,
                    ticket=answer,
                ),
                settings,
                resource=resource_values(actor, channel_id, share, now),
                tag={"tag": list(share.tags), "server_id": actor.server_id},
                event=share_event(actor, channel_id, now, resource_id=None),
            )
        if stored is None:
            return None
        return ShareOutcome(
            resource=_new_resource(actor, channel_id, share, stored.subject_id, now),
            result=ShareResult.NEW,
            card_claim=stored.claim,
            answer=stored.answer,
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
            await ADD_TAGS.execute_many(
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
        await record_event(session, share_event(actor, channel_id, now, resource_id))

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
                recorded = await record_event(
                    session, useful_event(actor, resource_id, resource.shared_by, now)
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
        """On PostgreSQL, one read (the resource and its server), then the member, the mark and
        its answer in one statement (see ``at_once``); None when the server's row needs
        writing first."""
        async with self._database.write_rows(one_statement=True) as rows:
            found = await RESOURCE_AND_SERVER_BY_ID.execute(
                rows,
                {
                    "server_id": actor.server_id,
                    "resource_id": resource_id,
                    "user_id": actor.user_id,
                },
            )
            with_server = found.all()
            resource = _resource_of(with_server)
            if resource.shared_by == actor.user_id:
                mark = UsefulMark.OWN_RESOURCE
                return mark, resource, _useful_answer(actor, resource_id, mark, answer)
            # Refuses the member or the sharer if either paused, as refuse_if_paused does.
            if settings_of(with_server[0], actor) is None:
                return None
            mark_event = useful_event(actor, resource_id, resource.shared_by, now)
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
            answer_id = (await MARK_USEFUL_AT_ONCE.execute(rows, params)).scalar_one_or_none()
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
            found = await RESOURCE_BY_URL.execute(
                session, {"server_id": server_id, "url_hash": url_hash}
            )
        else:
            found = await RESOURCE_BY_ID.execute(
                session, {"server_id": server_id, "resource_id": resource_id}
            )
        return _resource_of(found.all())


def _resource_of(with_tags: Sequence[Any]) -> SharedResource:
    """The resource in the rows of ``RESOURCE_BY_ID`` (or a statement with its columns): one
    row per tag, or one with its tag None for none. Raises NotFound for no rows."""
    if not with_tags:
        raise NotFound("That resource is no longer here.")
    row = with_tags[0]
    tags = [tagged.tag for tagged in with_tags if tagged.tag is not None]
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
