"""Contribute: storing what members share, once per link per server, and who found it useful."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import ActivityEvent, Database, Member, Resource, ResourceTag, utcnow
from bot.db.upsert import dialect_insert
from bot.errors import NotFound
from bot.habits import EventKind, Habit
from bot.services.members import Actor, touch_actor
from bot.services.share_input import ShareInput


@dataclass(frozen=True, slots=True)
class SharedResource:
    id: int
    url: str
    title: str | None
    note: str | None
    tags: tuple[str, ...]
    shared_by: int
    shared_by_name: str
    channel_id: int
    card_channel_id: int | None
    card_message_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ShareOutcome:
    resource: SharedResource
    # False when the link was already shared in this server: no second card is posted.
    is_new: bool
    # Where the card belongs: the server's shares channel, or the channel /share was used in.
    card_channel_id: int
    # Set when this command holds the claim to post the resource's card: always for a new
    # share, and for a repeat when the first card was never posted (posting failed earlier).
    # The caller then calls attach_card() or release_card() with it.
    card_claim: CardClaim | None


@dataclass(frozen=True, slots=True)
class CardClaim:
    """The right to post one resource's card; ``claimed_at`` tells this claim from later ones."""

    resource_id: int
    claimed_at: datetime


@dataclass(frozen=True, slots=True)
class CardLocation:
    channel_id: int
    message_id: int


class UsefulMark(enum.Enum):
    RECORDED = "recorded"
    ALREADY_MARKED = "already_marked"
    OWN_RESOURCE = "own_resource"


async def _record_event(
    session: AsyncSession,
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
    insert = dialect_insert(session, ActivityEvent).values(
        server_id=actor.server_id,
        member_id=actor.user_id,
        kind=kind.value,
        habit=habit.value if habit else None,
        occurred_at=now,
        resource_id=resource_id,
        other_member_id=other_member_id,
        channel_id=channel_id,
        dedupe_key=dedupe_key,
    )
    result = await session.execute(
        insert.on_conflict_do_nothing(
            index_elements=[ActivityEvent.server_id, ActivityEvent.dedupe_key]
        ).returning(ActivityEvent.id)
    )
    return result.scalar_one_or_none() is not None


# A claim older than this is assumed abandoned (the bot stopped mid-post) and can be taken over.
CARD_CLAIM_LEASE = timedelta(seconds=60)


class SharingService:
    """Contribute: shares, their cards, and members marking them useful."""

    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._database = database
        self._clock = clock

    async def share(self, actor: Actor, channel_id: int, share: ShareInput) -> ShareOutcome:
        """Store a share, or find the earlier share of the same link in this server.

        The unique (server, url_hash) key decides between two members sharing the same link at
        the same moment: exactly one of them creates the resource.
        """
        now = self._clock()
        async with self._database.write() as session:
            settings = await touch_actor(session, actor, now)
            created = await session.execute(
                dialect_insert(session, Resource)
                .values(
                    server_id=actor.server_id,
                    shared_by=actor.user_id,
                    url=share.url,
                    url_hash=share.url_hash,
                    title=share.title,
                    note=share.note,
                    channel_id=channel_id,
                    created_at=now,
                    card_claimed_at=now,
                )
                .on_conflict_do_nothing(index_elements=[Resource.server_id, Resource.url_hash])
                .returning(Resource.id)
            )
            new_id = created.scalar_one_or_none()
            claim = CardClaim(new_id, now) if new_id is not None else None
            if new_id is not None:
                await self._store_new(session, actor, channel_id, share, new_id, now)
                resource = SharedResource(
                    id=new_id,
                    url=share.url,
                    title=share.title,
                    note=share.note,
                    tags=share.tags,
                    shared_by=actor.user_id,
                    shared_by_name=actor.display_name,
                    channel_id=channel_id,
                    card_channel_id=None,
                    card_message_id=None,
                    created_at=now,
                )
            else:
                resource = await self._load(session, actor.server_id, url_hash=share.url_hash)
                if resource.card_message_id is None:
                    claim = await self._claim_card(session, resource.id, now)
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
        return ShareOutcome(
            resource=resource,
            is_new=new_id is not None,
            card_channel_id=settings.shares_channel_id or channel_id,
            card_claim=claim,
        )

    @staticmethod
    async def _claim_card(
        session: AsyncSession, resource_id: int, now: datetime
    ) -> CardClaim | None:
        """Take the right to post a card that was never posted, unless someone holds it."""
        claimed = await session.execute(
            update(Resource)
            .execution_options(synchronize_session=False)
            .where(
                Resource.id == resource_id,
                Resource.card_message_id.is_(None),
                Resource.card_claimed_at.is_(None)
                | (Resource.card_claimed_at < now - CARD_CLAIM_LEASE),
            )
            .values(card_claimed_at=now)
        )
        return CardClaim(resource_id, now) if cast("CursorResult[Any]", claimed).rowcount else None

    @staticmethod
    async def _store_new(
        session: AsyncSession,
        actor: Actor,
        channel_id: int,
        share: ShareInput,
        resource_id: int,
        now: datetime,
    ) -> None:
        if share.tags:
            await session.execute(
                insert(ResourceTag),
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
            dedupe_key=f"share:{resource_id}",
            resource_id=resource_id,
            channel_id=channel_id,
        )

    async def attach_card(self, claim: CardClaim, posted: CardLocation) -> CardLocation:
        """Record a posted card; returns the resource's card, which is ``posted`` if it won.

        The first card recorded wins, even if this claim's lease ran out meanwhile: when two
        commands both posted (a post slower than the lease), the loser gets the winner's
        location back and should delete its own message.
        """
        async with self._database.write() as session:
            await session.execute(
                update(Resource)
                .execution_options(synchronize_session=False)
                .where(Resource.id == claim.resource_id, Resource.card_message_id.is_(None))
                .values(card_channel_id=posted.channel_id, card_message_id=posted.message_id)
            )
            row = (
                await session.execute(
                    select(Resource.card_channel_id, Resource.card_message_id).where(
                        Resource.id == claim.resource_id
                    )
                )
            ).one()
        return CardLocation(row.card_channel_id, row.card_message_id)

    async def release_card(self, claim: CardClaim) -> None:
        """Give up a claim after failing to post, so the next /share of the link retries.

        Only this claim is released: one that expired and was taken over stays with its taker.
        """
        async with self._database.write() as session:
            await session.execute(
                update(Resource)
                .execution_options(synchronize_session=False)
                .where(
                    Resource.id == claim.resource_id,
                    Resource.card_message_id.is_(None),
                    Resource.card_claimed_at == claim.claimed_at,
                )
                .values(card_claimed_at=None)
            )

    async def mark_useful(
        self, actor: Actor, resource_id: int
    ) -> tuple[UsefulMark, SharedResource]:
        """Record that ``actor`` found a resource useful: once per member, never for one's own."""
        now = self._clock()
        async with self._database.write() as session:
            # Raises NotFound for a resource that is gone or belongs to another server.
            resource = await self._load(session, actor.server_id, resource_id=resource_id)
            if resource.shared_by == actor.user_id:
                return UsefulMark.OWN_RESOURCE, resource
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
        return (UsefulMark.RECORDED if recorded else UsefulMark.ALREADY_MARKED), resource

    @staticmethod
    async def _load(
        session: AsyncSession,
        server_id: int,
        *,
        url_hash: str | None = None,
        resource_id: int | None = None,
    ) -> SharedResource:
        query = (
            select(Resource, Member.display_name)
            .join(
                Member,
                (Member.server_id == Resource.server_id) & (Member.user_id == Resource.shared_by),
            )
            .where(Resource.server_id == server_id)
        )
        if url_hash is not None:
            query = query.where(Resource.url_hash == url_hash)
        if resource_id is not None:
            query = query.where(Resource.id == resource_id)
        row = (await session.execute(query)).one_or_none()
        if row is None:
            raise NotFound("That resource is no longer here.")
        resource, name = row
        return SharedResource(
            id=resource.id,
            url=resource.url,
            title=resource.title,
            note=resource.note,
            tags=tuple(tag.tag for tag in resource.tags),
            shared_by=resource.shared_by,
            shared_by_name=name,
            channel_id=resource.channel_id,
            card_channel_id=resource.card_channel_id,
            card_message_id=resource.card_message_id,
            created_at=resource.created_at,
        )
