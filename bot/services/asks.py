"""Request: members asking the network, answers in the ask's thread, and helpful marks.

An ask is stored with its thread's post, its named helpers and the asker's answer in one
transaction, like a share: once the asker is told, nothing is lost. The thread is the ask's
outbox post; a thread has the id of the message it starts from, so the post's message id is
the thread's id, and answers (messages by others in that thread) are found through it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import (
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from bot.db import (
    ActivityEvent,
    Ask,
    AskAnswer,
    AskHelper,
    AskTag,
    Database,
    Member,
    OutboxPost,
    utcnow,
)
from bot.db.statements import Rows
from bot.db.upsert import dialect_insert
from bot.errors import InvalidInput, NotFound
from bot.habits import EventKind, Habit
from bot.services.answers import AnswerTicket, OwedAnswer, PendingAnswers
from bot.services.ask_rows import (
    ADD_ASK_TAGS,
    ADD_HELPERS,
    ASK_DEDUPE_PREFIX,
    ASKED,
    CREATE_ASK,
    NEW_ASK_AT_ONCE,
    RECORD_ASKED,
    ask_values,
    asked_values,
    helper_reasons,
)
from bot.services.at_once import KnownSettings, Owed
from bot.services.members import (
    Actor,
    note_member,
    touch_actor,
)
from bot.services.outbox import (
    STATUS_COLUMNS,
    Outbox,
    PostClaim,
    PostStatus,
    status_of,
)
from bot.services.pausing import refuse_if_paused
from bot.services.routing import HelperPick, route_helpers
from bot.services.share_input import parse_tags
from bot.services.typed_text import storable

_ASKS = cast(Table, Ask.__table__)
_ANSWERS = cast(Table, AskAnswer.__table__)
_EVENTS = cast(Table, ActivityEvent.__table__)
ASK_THREAD = "ask_thread"
HELPFUL_THANKS = "helpful_thanks"
ASK_ANSWER = "ask"
HELPFUL_ANSWER = "helpful"

MAX_QUESTION_LENGTH = 1000
THREAD_NAME_LIMIT = 100
# Asks unanswered this long are shown to the whole community (and, later, in the recap).
UNANSWERED_AFTER = timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class AskInput:
    question: str
    tags: tuple[str, ...]


def parse_ask(question: str, tags: str | None) -> AskInput:
    text = storable(question).strip()
    if not text:
        raise InvalidInput(
            "Write your question first: what would you like colleagues to help with?"
        )
    if len(text) > MAX_QUESTION_LENGTH:
        raise InvalidInput(
            f"That question is {len(text):,} characters; please keep it to "
            f"{MAX_QUESTION_LENGTH:,} (the details can follow in the thread)."
        )
    return AskInput(text, parse_tags(tags))


def thread_name(question: str) -> str:
    """The thread's title: the question's first line, cut to Discord's 100 characters."""
    first = " ".join(question.splitlines()[0].split()) if question.strip() else "A question"
    return first if len(first) <= THREAD_NAME_LIMIT else first[: THREAD_NAME_LIMIT - 1] + "…"


@dataclass(frozen=True, slots=True)
class StoredAsk:
    id: int
    server_id: int
    asker_id: int
    asker_name: str
    question: str
    tags: tuple[str, ...]
    channel_id: int
    created_at: datetime
    first_answer_at: datetime | None
    helpers: tuple[HelperPick, ...]
    # The thread's post: on its way, posted (its message id is the thread's id), or failed.
    thread: PostStatus | None


@dataclass(frozen=True, slots=True)
class AskOutcome:
    ask: StoredAsk
    thread_claim: PostClaim | None
    answer: OwedAnswer


class HelpfulResult(enum.StrEnum):
    MARKED = "marked"
    ALREADY_MARKED = "already_marked"
    NOT_AN_ASK = "not_an_ask"
    NOT_THE_ASKER = "not_the_asker"
    OWN_MESSAGE = "own_message"


@dataclass(frozen=True, slots=True)
class HelpfulOutcome:
    result: HelpfulResult
    ask: StoredAsk | None
    helper_id: int | None
    # The thank-you this command's worker posts in the thread now, if any.
    thanks_claim: PostClaim | None
    # Stored (id set) only when something changed; else an answer that needs no storing.
    answer: OwedAnswer | None


@dataclass(frozen=True, slots=True)
class OpenAsk:
    id: int
    asker_id: int
    asker_name: str
    question: str
    created_at: datetime
    thread_channel_id: int | None
    thread_id: int | None


def _new_ask(
    actor: Actor,
    request: AskInput,
    ask_id: int,
    thread_channel_id: int,
    now: datetime,
    helpers: Sequence[HelperPick],
) -> StoredAsk:
    """An ask just stored (its thread on its way)."""
    return StoredAsk(
        id=ask_id,
        server_id=actor.server_id,
        asker_id=actor.user_id,
        asker_name=actor.display_name,
        question=request.question,
        tags=request.tags,
        channel_id=thread_channel_id,
        created_at=now,
        first_answer_at=None,
        helpers=tuple(helpers),
        thread=None,
    )


class AskService:
    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._database = database
        self._known_settings = KnownSettings()
        self._clock = clock

    async def route(self, actor: Actor, request: AskInput) -> list[HelperPick]:
        """Who an ask would name now (it only reads)."""
        async with self._database.read_rows() as session:
            return await route_helpers(
                session,
                server_id=actor.server_id,
                asker_id=actor.user_id,
                tags=request.tags,
                now=self._clock(),
            )

    async def ask(
        self,
        actor: Actor,
        request: AskInput,
        *,
        channel_id: int,
        answer: AnswerTicket,
        deliverer: str | None = None,
        helpers: list[HelperPick] | None = None,
    ) -> AskOutcome:
        """Store an ask with its named helpers, and owe its thread and the asker's answer.

        The thread goes to the server's asks channel if an admin set one, else ``channel_id``.
        ``helpers``: whom to name, if the caller chose already; else read here (``route``).
        """
        # Who to name is read before the write begins: the writers' turn is not held for it.
        if helpers is None:
            helpers = await self.route(actor, request)
        now = self._clock()
        if not self._database.is_sqlite:
            done = await self._ask_at_once(
                actor,
                request,
                channel_id=channel_id,
                answer=answer,
                deliverer=deliverer,
                helpers=helpers,
                now=now,
            )
            if done is not None:
                return done
        async with self._database.write_rows() as session:
            settings = await touch_actor(session, actor, now, unless_paused=True)
            self._known_settings.saw(actor.server_id, settings)
            thread_channel_id = settings.asks_channel_id or channel_id
            created = await CREATE_ASK.execute(
                session, ask_values(actor, request.question, thread_channel_id, now)
            )
            ask_id = created.scalar_one()
            if request.tags:
                await ADD_ASK_TAGS.execute_many(
                    session,
                    [
                        {"ask_id": ask_id, "tag": tag, "server_id": actor.server_id, "position": i}
                        for i, tag in enumerate(request.tags)
                    ],
                )
            if helpers:
                await ADD_HELPERS.execute_many(
                    session,
                    [
                        {
                            "ask_id": ask_id,
                            "member_id": pick.member_id,
                            "server_id": actor.server_id,
                            "position": position,
                            "pinged": pick.opted_in,
                            "reasons": helper_reasons(pick),
                        }
                        for position, pick in enumerate(helpers)
                    ],
                )
            await RECORD_ASKED.execute(
                session, asked_values(actor, channel_id, now, f"{ASK_DEDUPE_PREFIX}{ask_id}")
            )
            post_id, claim = await Outbox.enqueue(
                session,
                server_id=actor.server_id,
                kind=ASK_THREAD,
                subject_id=ask_id,
                channel_id=thread_channel_id,
                now=now,
                claim_for=deliverer,
            )
            owed = await PendingAnswers.store(
                session,
                server_id=actor.server_id,
                member_id=actor.user_id,
                kind=ASK_ANSWER,
                subject_id=ask_id,
                outcome=ASKED,
                ticket=answer,
                post_id=post_id,
            )
        stored = _new_ask(actor, request, ask_id, thread_channel_id, now, helpers)
        return AskOutcome(stored, claim, owed)

    async def _ask_at_once(
        self,
        actor: Actor,
        request: AskInput,
        *,
        channel_id: int,
        answer: AnswerTicket,
        deliverer: str | None,
        helpers: list[HelperPick],
        now: datetime,
    ) -> AskOutcome | None:
        """On PostgreSQL, the ask and all it owes in one statement (see ``at_once``); None
        when the server's row is not as known (or not there yet): the ordinary path then writes
        it, or refuses a paused member."""
        async with self._database.write_rows(one_statement=True) as rows:
            settings = await self._known_settings.expected(rows, actor)
            if settings is None:
                return None
            thread_channel_id = settings.asks_channel_id or channel_id
            stored = await NEW_ASK_AT_ONCE.store(
                rows,
                actor,
                now,
                Owed(
                    post_kind=ASK_THREAD,
                    channel_id=thread_channel_id,
                    deliverer=deliverer,
                    answer_kind=ASK_ANSWER,
                    outcome=ASKED,
                    ticket=answer,
                ),
                settings,
                ask=ask_values(actor, request.question, thread_channel_id, now),
                tag={"tag": list(request.tags), "server_id": actor.server_id},
                helper={
                    "member_id": [pick.member_id for pick in helpers],
                    "pinged": [pick.opted_in for pick in helpers],
                    "reasons": [helper_reasons(pick) for pick in helpers],
                    "server_id": actor.server_id,
                },
                # The event's dedupe key is completed with the new ask's id.
                event=asked_values(actor, channel_id, now, ASK_DEDUPE_PREFIX),
            )
        if stored is None:
            return None
        ask = _new_ask(actor, request, stored.subject_id, thread_channel_id, now, helpers)
        return AskOutcome(ask, stored.claim, stored.answer)

    async def load(self, server_id: int, ask_id: int) -> StoredAsk:
        """One ask with its helpers and thread; raises NotFound if it is gone."""
        async with self._database.read() as session:
            return await _load(session, server_id, ask_id)

    async def of_thread(self, server_id: int, thread_id: int) -> StoredAsk | None:
        async with self._database.read() as session:
            ask_id = await _ask_of_thread(session, server_id, thread_id)
            return None if ask_id is None else await _load(session, server_id, ask_id)

    async def mark_helpful(
        self,
        actor: Actor,
        *,
        thread_id: int,
        message_id: int,
        author_id: int,
        author_name: str,
        posted_at: datetime,
        answer: AnswerTicket,
        deliverer: str | None = None,
    ) -> HelpfulOutcome:
        """The asker marks a message in their ask's thread as a helpful answer, once.

        Anyone else, a message outside an ask's thread, or the asker's own message changes
        nothing. The answer is recorded here if passive tracking has not stored it yet.
        """
        now = self._clock()
        async with self._database.write() as session:
            ask_id = await _ask_of_thread(session, actor.server_id, thread_id)
            if ask_id is None:
                return HelpfulOutcome(HelpfulResult.NOT_AN_ASK, None, None, None, None)
            ask = await _load(session, actor.server_id, ask_id)
            if ask.asker_id != actor.user_id:
                return HelpfulOutcome(HelpfulResult.NOT_THE_ASKER, ask, None, None, None)
            if author_id == actor.user_id:
                return HelpfulOutcome(HelpfulResult.OWN_MESSAGE, ask, None, None, None)
            await refuse_if_paused(session, actor.server_id, actor.user_id, others=[author_id])
            await touch_actor(session, actor, now)
            await note_member(session, actor.server_id, author_id, author_name, posted_at)
            await record_answers(
                session, actor.server_id, [(ask_id, ask.asker_id, message_id, author_id, posted_at)]
            )
            marked = await session.execute(
                update(AskAnswer)
                .execution_options(synchronize_session=False)
                .where(
                    AskAnswer.ask_id == ask_id,
                    AskAnswer.message_id == message_id,
                    AskAnswer.helpful_at.is_(None),
                )
                .values(helpful_at=now)
                .returning(AskAnswer.message_id)
            )
            if marked.scalar_one_or_none() is None:
                return HelpfulOutcome(HelpfulResult.ALREADY_MARKED, ask, author_id, None, None)
            for member_id, other_id, kind, habit in (
                (author_id, actor.user_id, EventKind.HELPFUL_ANSWER, Habit.CONTRIBUTE),
                (actor.user_id, author_id, EventKind.MARKED_HELPFUL, Habit.REQUEST),
            ):
                await session.execute(
                    insert(ActivityEvent).values(
                        server_id=actor.server_id,
                        member_id=member_id,
                        other_member_id=other_id,
                        kind=kind.value,
                        habit=habit.value,
                        occurred_at=now,
                        channel_id=thread_id,
                        message_id=message_id,
                        dedupe_key=f"{kind.value}:{message_id}",
                    )
                )
            _, claim = await Outbox.enqueue(
                session,
                server_id=actor.server_id,
                kind=HELPFUL_THANKS,
                subject_id=message_id,
                channel_id=thread_id,
                now=now,
                claim_for=deliverer,
            )
            owed = await PendingAnswers.store(
                session,
                server_id=actor.server_id,
                member_id=actor.user_id,
                kind=HELPFUL_ANSWER,
                subject_id=message_id,
                outcome=HelpfulResult.MARKED.value,
                ticket=answer,
            )
        return HelpfulOutcome(HelpfulResult.MARKED, ask, author_id, claim, owed)

    async def helpful_answer(self, server_id: int, message_id: int) -> tuple[StoredAsk, int]:
        """The ask and the helper of an answer marked helpful (for its thank-you)."""
        async with self._database.read() as session:
            row = (
                await session.execute(
                    select(AskAnswer.ask_id, AskAnswer.answerer_id).where(
                        AskAnswer.server_id == server_id,
                        AskAnswer.message_id == message_id,
                        AskAnswer.helpful_at.is_not(None),
                    )
                )
            ).first()
            if row is None:
                raise NotFound("That answer is no longer here.")
            return await _load(session, server_id, row.ask_id), row.answerer_id

    async def open_asks(self, server_id: int, *, limit: int = 10) -> list[OpenAsk]:
        """Asks nobody else has answered yet, oldest first, with their threads."""
        async with self._database.read() as session:
            rows = await session.execute(
                select(
                    Ask.id,
                    Ask.asker_id,
                    Member.display_name,
                    Ask.question,
                    Ask.created_at,
                    OutboxPost.channel_id,
                    OutboxPost.message_id,
                )
                .join(
                    Member,
                    (Member.server_id == Ask.server_id) & (Member.user_id == Ask.asker_id),
                )
                .outerjoin(
                    OutboxPost,
                    (OutboxPost.server_id == Ask.server_id)
                    & (OutboxPost.kind == ASK_THREAD)
                    & (OutboxPost.subject_id == Ask.id),
                )
                .where(Ask.server_id == server_id, Ask.first_answer_at.is_(None))
                .order_by(Ask.created_at, Ask.id)
                .limit(limit)
            )
            return [
                OpenAsk(
                    id=row[0],
                    asker_id=row[1],
                    asker_name=row[2],
                    question=row[3],
                    created_at=row[4],
                    thread_channel_id=row[5],
                    thread_id=row[6],
                )
                for row in rows
            ]


async def _ask_of_thread(session: Rows, server_id: int, thread_id: int) -> int | None:
    return await session.scalar(
        select(OutboxPost.subject_id).where(
            OutboxPost.server_id == server_id,
            OutboxPost.message_id == thread_id,
            OutboxPost.kind == ASK_THREAD,
        )
    )


async def asks_of_threads(
    session: Rows, threads: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], tuple[int, int]]:
    """(server, thread) -> (ask, asker), for the threads that hold asks."""
    found: dict[tuple[int, int], tuple[int, int]] = {}
    by_server: dict[int, list[int]] = {}
    for server_id, thread_id in threads:
        by_server.setdefault(server_id, []).append(thread_id)
    for server_id, thread_ids in by_server.items():
        rows = await session.execute(
            select(OutboxPost.message_id, Ask.id, Ask.asker_id)
            .join(Ask, (Ask.server_id == OutboxPost.server_id) & (Ask.id == OutboxPost.subject_id))
            .where(
                OutboxPost.server_id == server_id,
                OutboxPost.kind == ASK_THREAD,
                OutboxPost.message_id.in_(thread_ids),
            )
        )
        for row in rows:
            if row.message_id is not None:
                found[(server_id, row.message_id)] = (row.id, row.asker_id)
    return found


async def record_answers(
    session: Rows,
    server_id: int,
    answers: Sequence[tuple[int, int, int, int, datetime]],
) -> None:
    """Store answers (ask, asker, message, answerer, time): the answer row, the answerer's
    Contribute credit, and the ask's first answer time. Storing one twice changes nothing.

    Three statements for any number of answers (each run as one executemany).
    """
    found = [answer for answer in answers if answer[3] != answer[1]]  # the asker's own: none
    if not found:
        return
    await session.execute(
        dialect_insert(session, _ANSWERS).on_conflict_do_nothing(
            index_elements=[_ANSWERS.c.ask_id, _ANSWERS.c.message_id]
        ),
        [
            {
                "ask_id": ask_id,
                "message_id": message_id,
                "server_id": server_id,
                "answerer_id": answerer_id,
                "answered_at": at,
                "helpful_at": None,
            }
            for ask_id, _, message_id, answerer_id, at in found
        ],
    )
    await session.execute(
        dialect_insert(session, _EVENTS).on_conflict_do_nothing(
            index_elements=[_EVENTS.c.server_id, _EVENTS.c.dedupe_key]
        ),
        [
            {
                "server_id": server_id,
                "member_id": answerer_id,
                "other_member_id": asker_id,
                "kind": EventKind.ANSWER.value,
                "habit": Habit.CONTRIBUTE.value,
                "occurred_at": at,
                "channel_id": None,
                "message_id": message_id,
                "resource_id": None,
                "dedupe_key": f"answer:{message_id}",
            }
            for _, asker_id, message_id, answerer_id, at in found
        ],
    )
    first: dict[int, datetime] = {}
    for ask_id, _, _, _, at in found:
        first[ask_id] = min(at, first.get(ask_id, at))
    await session.execute(
        update(_ASKS)
        .where(
            _ASKS.c.id == bindparam("ask"),
            _ASKS.c.first_answer_at.is_(None) | (_ASKS.c.first_answer_at > bindparam("at")),
        )
        .values(first_answer_at=bindparam("at")),
        [{"ask": ask_id, "at": at} for ask_id, at in first.items()],
    )


async def withdraw_answers(session: Rows, server_id: int, message_ids: list[int]) -> None:
    """Deleted messages are no longer answers; their asks' first answer time is worked out
    again from the answers left (their credit goes with the ledger rows of those messages)."""
    removed = await session.execute(
        delete(AskAnswer)
        .where(AskAnswer.server_id == server_id, AskAnswer.message_id.in_(message_ids))
        .returning(AskAnswer.ask_id)
    )
    ask_ids = sorted({row.ask_id for row in removed})
    if ask_ids:
        first = (
            select(func.min(AskAnswer.answered_at))
            .where(AskAnswer.ask_id == Ask.id)
            .scalar_subquery()
        )
        await session.execute(
            update(Ask)
            .execution_options(synchronize_session=False)
            .where(Ask.id.in_(ask_ids))
            .values(first_answer_at=first)
        )


async def _load(session: Rows, server_id: int, ask_id: int) -> StoredAsk:
    row = (
        await session.execute(
            select(Ask, Member.display_name)
            .join(Member, (Member.server_id == Ask.server_id) & (Member.user_id == Ask.asker_id))
            .where(Ask.server_id == server_id, Ask.id == ask_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("That question is no longer here.")
    ask, asker_name = row
    tags = (
        await session.scalars(
            select(AskTag.tag).where(AskTag.ask_id == ask_id).order_by(AskTag.position)
        )
    ).all()
    helper_rows = await session.execute(
        select(AskHelper.member_id, AskHelper.pinged, Member.display_name, AskHelper.reasons)
        .join(
            Member,
            (Member.server_id == AskHelper.server_id) & (Member.user_id == AskHelper.member_id),
        )
        .where(AskHelper.ask_id == ask_id)
        .order_by(AskHelper.position)
    )
    helpers = tuple(
        HelperPick(row[0], row[2], tuple(filter(None, row[3].split("; "))), row[1])
        for row in helper_rows
    )
    post = (
        await session.execute(
            select(*STATUS_COLUMNS).where(
                OutboxPost.server_id == server_id,
                OutboxPost.kind == ASK_THREAD,
                OutboxPost.subject_id == ask_id,
            )
        )
    ).one_or_none()
    thread = None if post is None else status_of(post)
    return StoredAsk(
        id=ask.id,
        server_id=server_id,
        asker_id=ask.asker_id,
        asker_name=asker_name,
        question=ask.question,
        tags=tuple(tags),
        channel_id=ask.channel_id,
        created_at=ask.created_at,
        first_answer_at=ask.first_answer_at,
        helpers=helpers,
        thread=thread,
    )
