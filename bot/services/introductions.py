"""Connect: members introducing themselves, their intro cards, and welcomes for newcomers.

An intro is stored with its card's post in one transaction, like a share: the card is owed
once the member is told it is saved. Re-introducing edits the card already posted (the outbox
edits in place) rather than posting a second one.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database, Introduction, Member, MemberInterest, utcnow
from bot.db.upsert import dialect_insert
from bot.errors import InvalidInput, NotFound
from bot.services.answers import AnswerTicket, OwedAnswer, PendingAnswers
from bot.services.interests import InterestKind, IntroAnswers, split_tags, tag_variants
from bot.services.members import Actor, note_member, touch_actor, touch_server
from bot.services.outbox import Outbox, PostClaim

INTRO_CARD = "intro_card"
WELCOME_POST = "welcome"
INTRO_ANSWER = "intro"


class IntroResult(enum.StrEnum):
    NEW = "new"
    UPDATED = "updated"


@dataclass(frozen=True, slots=True)
class MemberIntro:
    server_id: int
    user_id: int
    display_name: str
    answers: IntroAnswers
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class IntroOutcome:
    intro: MemberIntro
    result: IntroResult
    card_post_id: int
    # The card (or its edit) this command's worker delivers now, if any.
    card_claim: PostClaim | None
    answer: OwedAnswer


class IntroductionService:
    def __init__(
        self,
        database: Database,
        clock: Callable[[], datetime] = utcnow,
        *,
        members_changed: Callable[[int], None] | None = None,
    ) -> None:
        """``members_changed``: told a server's id once an intro, an offer of help or a member
        joining is stored there (suggestions keep a list of each server's members)."""
        self._database = database
        self._clock = clock
        self._members_changed = members_changed or (lambda _server_id: None)

    async def introduce(
        self,
        actor: Actor,
        answers: IntroAnswers,
        *,
        channel_id: int,
        answer: AnswerTicket,
        deliverer: str | None = None,
    ) -> IntroOutcome:
        """Store the member's intro and interests, and owe its card (or the card's edit).

        The card goes to the server's intros channel if an admin set one, else to
        ``channel_id`` (where the member asked); an edit stays where the card already is.
        """
        now = self._clock()
        async with self._database.write() as session:
            settings = await touch_actor(session, actor, now, unless_paused=True)
            values = {
                "role": answers.role,
                "subjects": answers.subjects,
                "grade_bands": answers.grade_bands,
                "learning": answers.learning,
                "helping": answers.helping,
                "updated_at": now,
            }
            stored = dialect_insert(session, Introduction).values(
                server_id=actor.server_id, user_id=actor.user_id, created_at=now, **values
            )
            created_at = await session.scalar(
                stored.on_conflict_do_update(
                    index_elements=[Introduction.server_id, Introduction.user_id], set_=values
                ).returning(Introduction.created_at)
            )
            result = IntroResult.NEW if created_at == now else IntroResult.UPDATED
            await _replace_interests(session, actor.server_id, actor.user_id, answers)
            post_id, claim = await Outbox.revise(
                session,
                server_id=actor.server_id,
                kind=INTRO_CARD,
                subject_id=actor.user_id,
                channel_id=settings.intros_channel_id or channel_id,
                now=now,
                claim_for=deliverer,
            )
            owed = await PendingAnswers.store(
                session,
                server_id=actor.server_id,
                member_id=actor.user_id,
                kind=INTRO_ANSWER,
                subject_id=actor.user_id,
                outcome=result.value,
                ticket=answer,
                post_id=post_id,
            )
        self._members_changed(actor.server_id)
        intro = MemberIntro(actor.server_id, actor.user_id, actor.display_name, answers, now)
        return IntroOutcome(intro, result, post_id, claim, owed)

    async def intro(self, server_id: int, user_id: int) -> MemberIntro:
        """A member's intro; raises NotFound if they never introduced themselves here."""
        async with self._database.read() as session:
            row = (
                await session.execute(
                    select(Introduction, Member.display_name)
                    .join(
                        Member,
                        (Member.server_id == Introduction.server_id)
                        & (Member.user_id == Introduction.user_id),
                    )
                    .where(Introduction.server_id == server_id, Introduction.user_id == user_id)
                )
            ).one_or_none()
        if row is None:
            raise NotFound("You haven't introduced yourself here yet.")
        found, name = row
        answers = IntroAnswers(
            found.role, found.subjects, found.grade_bands, found.learning, found.helping
        )
        return MemberIntro(server_id, user_id, name, answers, found.updated_at)

    async def set_helper(self, actor: Actor, tag: str, *, helping: bool) -> tuple[str, ...]:
        """Offer (or stop offering) help with a tag; returns every tag the member now helps with.

        Offering help is what lets ``/ask`` notify a member about questions on that tag.
        """
        tags = split_tags(tag)
        if not tags:
            raise InvalidInput("Give a topic, e.g. `assessment` or `google classroom`.")
        now = self._clock()
        async with self._database.write() as session:
            await touch_actor(session, actor, now, unless_paused=True)
            mine = (
                (MemberInterest.server_id == actor.server_id)
                & (MemberInterest.user_id == actor.user_id)
                & (MemberInterest.kind == InterestKind.HELP.value)
            )
            if helping:
                await session.execute(
                    dialect_insert(session, MemberInterest)
                    .values(
                        server_id=actor.server_id,
                        user_id=actor.user_id,
                        kind=InterestKind.HELP.value,
                        tag=tags[0],
                    )
                    .on_conflict_do_nothing()
                )
            else:
                await session.execute(
                    delete(MemberInterest).where(
                        mine, MemberInterest.tag.in_(tag_variants(tags[0]))
                    )
                )
            found = await session.scalars(
                select(MemberInterest.tag).where(mine).order_by(MemberInterest.tag)
            )
            helped = tuple(found.all())
        self._members_changed(actor.server_id)
        return helped

    async def introduced(self, server_id: int, user_id: int) -> bool:
        async with self._database.read() as session:
            found = await session.scalar(
                select(Introduction.user_id).where(
                    Introduction.server_id == server_id, Introduction.user_id == user_id
                )
            )
        return found is not None

    async def welcome(
        self,
        server_id: int,
        server_name: str,
        user_id: int,
        display_name: str,
        *,
        fallback_channel_id: int | None = None,
    ) -> int | None:
        """A newcomer joined: owe them a welcome in the intros channel, else the fallback (the
        server's system channel), if there is either.

        Returns the welcome's post id. Joining twice (leaving and coming back) welcomes once.
        """
        now = self._clock()
        post_id = None
        async with self._database.write() as session:
            settings = await touch_server(session, server_id, server_name)
            await note_member(session, server_id, user_id, display_name, now)
            channel_id = settings.intros_channel_id or fallback_channel_id
            if channel_id is not None:
                post_id, _ = await Outbox.enqueue(
                    session,
                    server_id=server_id,
                    kind=WELCOME_POST,
                    subject_id=user_id,
                    channel_id=channel_id,
                    now=now,
                )
        self._members_changed(server_id)
        return post_id

    async def left(self, server_id: int, user_id: int) -> None:
        """The member left the server: suggestions stop naming them (their history stays)."""
        async with self._database.write() as session:
            await session.execute(
                update(Member)
                .where(Member.server_id == server_id, Member.user_id == user_id)
                .values(left_at=self._clock())
            )


async def _replace_interests(
    session: AsyncSession, server_id: int, user_id: int, answers: IntroAnswers
) -> None:
    await session.execute(
        delete(MemberInterest).where(
            MemberInterest.server_id == server_id, MemberInterest.user_id == user_id
        )
    )
    rows = [
        {"server_id": server_id, "user_id": user_id, "kind": kind.value, "tag": tag}
        for kind, tag in sorted(answers.interests())
    ]
    if rows:
        await session.execute(insert(MemberInterest), rows)
