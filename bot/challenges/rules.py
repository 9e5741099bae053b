"""Completion rules: what the ledger can prove a member did in a challenge week.

A challenge week is the server's own week, ``[start, end)`` from one weekly post to the next, so
it rarely lines up with the UTC Monday weeks of ``conversation_weeks``: every rule reads the
ledger (and the few tables written with it) for exactly that span. Each rule is one or two
set-based queries over the whole server, so checking everyone at the end of a week costs the
same few statements as checking one member; ``member_ids`` narrows the same queries.

Time differences (72 hours, 14 days) are never computed in SQL, where SQLite and PostgreSQL
disagree: queries compare columns with each other and with bound instants, and where a rule
needs "within N hours of that row" the query returns the nearest candidate per row (a GROUP BY)
and the last comparison is made here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.db import ActivityEvent, Ask, AskAnswer, ConversationWeek, Introduction, Member, Resource
from bot.habits import INTERACTION_KINDS, EventKind
from bot.services.conversations import CONVERSATION_WINDOW, THREAD_TURNS, pair_of, week_of

# Someone the bot first saw this long before an interaction is still a newcomer then.
NEWCOMER_WINDOW = timedelta(days=14)
# How far back someone's reaching out can be for a reply to count as replying back.
REPLY_BACK_WINDOW = timedelta(days=14)

_INTERACTIONS = [kind.value for kind in INTERACTION_KINDS]
_TALKING = [EventKind.REPLY.value, EventKind.THREAD_MESSAGE.value]
# What shows a colleague used a resource (as on /progress): marked useful, tried to share the
# same link, or reacted to its card (a reaction carries the resource only on its card).
_USE_KINDS = [EventKind.MARKED_USEFUL.value, EventKind.RESHARE.value, EventKind.REACTION.value]
# Pairs per IN list: well inside both backends' bound-parameter limits.
_IN_CHUNK = 400


class RuleKind(StrEnum):
    # Connect
    REACH_NEW_PEOPLE = "reach_new_people"
    REPLY_TO_PEOPLE = "reply_to_people"
    REACT_TO_PEOPLE = "react_to_people"
    WELCOME_NEWCOMER = "welcome_newcomer"
    INTRODUCE_YOURSELF = "introduce_yourself"
    # Contribute
    SHARE = "share"
    SHARE_FOUND_USEFUL = "share_found_useful"
    ANSWER_ASKS = "answer_asks"
    FIRST_ANSWER = "first_answer"
    HELPFUL_ANSWER = "helpful_answer"
    # Converse
    CONVERSE_WITH = "converse_with"
    CONVERSE_AGAIN = "converse_again"
    REPLY_BACK = "reply_back"
    # Request
    ASK = "ask"
    ASK_ANSWERED = "ask_answered"
    MARK_HELPFUL = "mark_helpful"


def _people(count: int, one: str = "colleague", many: str = "colleagues") -> str:
    return f"{count} {one if count == 1 else many}"


_DESCRIPTIONS: dict[RuleKind, Callable[[int], str]] = {
    RuleKind.REACH_NEW_PEOPLE: lambda n: (
        f"Reach {_people(n, 'person', 'people')} you had not talked with before"
    ),
    RuleKind.REPLY_TO_PEOPLE: lambda n: f"Reply to {_people(n)}",
    RuleKind.REACT_TO_PEOPLE: lambda n: f"React to posts by {_people(n)}",
    RuleKind.WELCOME_NEWCOMER: lambda n: (
        f"Reply or react to {_people(n, 'newcomer', 'newcomers')} in their first two weeks"
    ),
    RuleKind.INTRODUCE_YOURSELF: lambda _: "Post or refresh your intro with /connect intro",
    RuleKind.SHARE: lambda n: f"Share {_people(n, 'resource', 'resources')} with /share",
    RuleKind.SHARE_FOUND_USEFUL: lambda n: f"Have {_people(n)} find something you shared useful",
    RuleKind.ANSWER_ASKS: lambda n: f"Answer {_people(n, 'question', 'questions')} from colleagues",
    RuleKind.FIRST_ANSWER: lambda n: (
        f"Be the first to answer {_people(n, 'question', 'questions')}"
    ),
    RuleKind.HELPFUL_ANSWER: lambda n: (
        f"Have {_people(n, 'answer', 'answers')} of yours marked helpful"
    ),
    RuleKind.CONVERSE_WITH: lambda n: f"Have a back-and-forth conversation with {_people(n)}",
    RuleKind.CONVERSE_AGAIN: lambda n: (
        f"Pick up a conversation again with {_people(n)} you have talked with before"
    ),
    RuleKind.REPLY_BACK: lambda n: f"Reply to {_people(n)} who reached out to you",
    RuleKind.ASK: lambda n: f"Ask {_people(n, 'question', 'questions')} with /ask",
    RuleKind.ASK_ANSWERED: lambda n: (
        f"Get an answer to {_people(n, 'question', 'questions')} you asked"
    ),
    RuleKind.MARK_HELPFUL: lambda n: f"Mark {_people(n, 'answer', 'answers')} helpful",
}


@dataclass(frozen=True, slots=True)
class CompletionRule:
    """What a member must do in the week for the bot to tick a challenge off by itself."""

    kind: RuleKind
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError("a completion rule needs a count of at least 1")
        if self.kind is RuleKind.INTRODUCE_YOURSELF and self.count != 1:
            raise ValueError("a member has one intro: introduce_yourself takes no count")

    def describe(self) -> str:
        return _DESCRIPTIONS[self.kind](self.count)


@dataclass(frozen=True, slots=True)
class _Week:
    server_id: int
    start: datetime
    end: datetime
    members: tuple[int, ...] | None

    def during(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.start, column < self.end)

    def only(self, column: Any) -> ColumnElement[bool]:
        return true() if self.members is None else column.in_(self.members)


async def members_who_completed(
    session: AsyncSession,
    rule: CompletionRule,
    *,
    server_id: int,
    start: datetime,
    end: datetime,
    member_ids: Collection[int] | None = None,
) -> set[int]:
    """The members of a server who met ``rule`` in the week ``[start, end)``.

    ``member_ids`` limits the answer (and the work) to those members: a "did I do it?" button
    checks one member with the same queries the end-of-week sweep runs for everyone.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("challenge weeks are aware UTC datetimes")
    members = None if member_ids is None else tuple(sorted(set(member_ids)))
    if members == () or start >= end:
        return set()
    week = _Week(server_id, start, end, members)
    found = await _CHECKS[rule.kind](session, week, rule.count)
    return found if members is None else found & set(members)


def _event_in_week(week: _Week, *kinds: str, event: Any = ActivityEvent) -> ColumnElement[bool]:
    """The week's events of ``kinds`` in the server, by the members asked about."""
    return and_(
        event.server_id == week.server_id,
        event.kind.in_(kinds),
        week.during(event.occurred_at),
        week.only(event.member_id),
    )


def _reaching(event: Any = ActivityEvent) -> ColumnElement[bool]:
    """Someone else was reached (the ledger already drops self-replies; this keeps it so)."""
    return and_(event.other_member_id.is_not(None), event.other_member_id != event.member_id)


async def _distinct_others(
    session: AsyncSession, week: _Week, count: int, kinds: list[str]
) -> set[int]:
    rows = await session.scalars(
        select(ActivityEvent.member_id)
        .where(_event_in_week(week, *kinds), _reaching())
        .group_by(ActivityEvent.member_id)
        .having(func.count(func.distinct(ActivityEvent.other_member_id)) >= count)
    )
    return set(rows)


async def _events(
    session: AsyncSession, week: _Week, count: int, kind: EventKind, what: Any
) -> set[int]:
    """Members with ``count`` distinct ``what`` among their events of ``kind`` this week."""
    rows = await session.scalars(
        select(ActivityEvent.member_id)
        .where(_event_in_week(week, kind.value))
        .group_by(ActivityEvent.member_id)
        .having(func.count(func.distinct(what)) >= count)
    )
    return set(rows)


def _at_least(pairs: Iterable[tuple[int, int]], count: int) -> set[int]:
    """Members named with ``count`` distinct others in ``pairs`` (each pair counted once)."""
    others: defaultdict[int, set[int]] = defaultdict(set)
    for member, other in pairs:
        others[member].add(other)
    return {member for member, found in others.items() if len(found) >= count}


# -- Connect ---------------------------------------------------------------------------------


async def _reach_new_people(session: AsyncSession, week: _Week, count: int) -> set[int]:
    earlier = aliased(ActivityEvent)

    def before(member: Any, other: Any) -> ColumnElement[bool]:
        return exists(
            select(earlier.id).where(
                earlier.server_id == ActivityEvent.server_id,
                earlier.member_id == member,
                earlier.other_member_id == other,
                earlier.kind.in_(_INTERACTIONS),
                earlier.occurred_at < week.start,
            )
        )

    # Two NOT EXISTS, one per direction: each is a search of the (member, other) index.
    rows = await session.scalars(
        select(ActivityEvent.member_id)
        .where(
            _event_in_week(week, *_INTERACTIONS),
            _reaching(),
            ~before(ActivityEvent.member_id, ActivityEvent.other_member_id),
            ~before(ActivityEvent.other_member_id, ActivityEvent.member_id),
        )
        .group_by(ActivityEvent.member_id)
        .having(func.count(func.distinct(ActivityEvent.other_member_id)) >= count)
    )
    return set(rows)


async def _reply_to_people(session: AsyncSession, week: _Week, count: int) -> set[int]:
    return await _distinct_others(session, week, count, _TALKING)


async def _react_to_people(session: AsyncSession, week: _Week, count: int) -> set[int]:
    return await _distinct_others(session, week, count, [EventKind.REACTION.value])


async def _welcome_newcomer(session: AsyncSession, week: _Week, count: int) -> set[int]:
    # Per (member, newcomer), the first interaction since the newcomer arrived: if even that
    # one is later than the window, none is inside it.
    rows = await session.execute(
        select(
            ActivityEvent.member_id,
            ActivityEvent.other_member_id,
            Member.first_seen_at,
            func.min(ActivityEvent.occurred_at),
        )
        .join(
            Member,
            (Member.server_id == ActivityEvent.server_id)
            & (Member.user_id == ActivityEvent.other_member_id),
        )
        .where(
            _event_in_week(week, *_INTERACTIONS),
            _reaching(),
            Member.first_seen_at >= week.start - NEWCOMER_WINDOW,
            Member.first_seen_at <= ActivityEvent.occurred_at,
        )
        .group_by(ActivityEvent.member_id, ActivityEvent.other_member_id, Member.first_seen_at)
    )
    return _at_least(
        (
            (row[0], row[1])
            for row in rows
            if row[1] is not None and row[3] - row[2] <= NEWCOMER_WINDOW
        ),
        count,
    )


async def _introduce_yourself(session: AsyncSession, week: _Week, count: int) -> set[int]:
    # Intros are not in the ledger: only the latest write's time is kept, so an intro edited
    # again after the week no longer shows the edit made during it.
    rows = await session.scalars(
        select(Introduction.user_id).where(
            Introduction.server_id == week.server_id,
            or_(week.during(Introduction.created_at), week.during(Introduction.updated_at)),
            week.only(Introduction.user_id),
        )
    )
    return set(rows)


# -- Contribute ------------------------------------------------------------------------------


async def _share(session: AsyncSession, week: _Week, count: int) -> set[int]:
    return await _events(session, week, count, EventKind.SHARE, ActivityEvent.resource_id)


async def _share_found_useful(session: AsyncSession, week: _Week, count: int) -> set[int]:
    # The resource says whose it is; the event's member is the colleague who used it.
    rows = await session.scalars(
        select(Resource.shared_by)
        .select_from(ActivityEvent)
        .join(Resource, Resource.id == ActivityEvent.resource_id)
        .where(
            ActivityEvent.server_id == week.server_id,
            ActivityEvent.kind.in_(_USE_KINDS),
            week.during(ActivityEvent.occurred_at),
            Resource.server_id == week.server_id,
            ActivityEvent.member_id != Resource.shared_by,
            week.only(Resource.shared_by),
        )
        .group_by(Resource.shared_by)
        .having(func.count(func.distinct(ActivityEvent.member_id)) >= count)
    )
    return set(rows)


def _answers_in_week(week: _Week) -> ColumnElement[bool]:
    """Answers written this week in asks of this server, by someone other than the asker."""
    return and_(
        AskAnswer.server_id == week.server_id,
        Ask.server_id == week.server_id,
        week.during(AskAnswer.answered_at),
        AskAnswer.answerer_id != Ask.asker_id,
    )


async def _answer_asks(session: AsyncSession, week: _Week, count: int) -> set[int]:
    # The ledger's answer events name the asker but not the ask; the answers table, written
    # and withdrawn with them, does.
    rows = await session.scalars(
        select(AskAnswer.answerer_id)
        .join(Ask, Ask.id == AskAnswer.ask_id)
        .where(_answers_in_week(week), week.only(AskAnswer.answerer_id))
        .group_by(AskAnswer.answerer_id)
        .having(func.count(func.distinct(AskAnswer.ask_id)) >= count)
    )
    return set(rows)


async def _first_answer(session: AsyncSession, week: _Week, count: int) -> set[int]:
    rows = await session.scalars(
        select(AskAnswer.answerer_id)
        .join(Ask, Ask.id == AskAnswer.ask_id)
        .where(
            _answers_in_week(week),
            AskAnswer.answered_at == Ask.first_answer_at,
            week.only(AskAnswer.answerer_id),
        )
        .group_by(AskAnswer.answerer_id)
        .having(func.count(func.distinct(AskAnswer.ask_id)) >= count)
    )
    return set(rows)


async def _helpful_answer(session: AsyncSession, week: _Week, count: int) -> set[int]:
    return await _events(session, week, count, EventKind.HELPFUL_ANSWER, ActivityEvent.message_id)


# -- Converse --------------------------------------------------------------------------------


async def _conversation_pairs(session: AsyncSession, week: _Week) -> set[tuple[int, int]]:
    """Pairs (smaller id first) who had a conversation this week, by the product's two rules.

    Reciprocation: an interaction this week answered one made by the other within the 72 hours
    before it (which may fall before the week). A thread exchange: a turn this week that is at
    least the third between the same two in that thread.
    """
    answer = aliased(ActivityEvent)
    earlier = aliased(ActivityEvent)
    mentioned = (
        true()
        if week.members is None
        else or_(answer.member_id.in_(week.members), answer.other_member_id.in_(week.members))
    )
    # For each interaction this week, the latest one the other way at or before it.
    reciprocated = await session.execute(
        select(answer.member_id, answer.other_member_id, answer.occurred_at)
        .add_columns(func.max(earlier.occurred_at))
        .join(
            earlier,
            (earlier.server_id == answer.server_id)
            & (earlier.member_id == answer.other_member_id)
            & (earlier.other_member_id == answer.member_id),
        )
        .where(
            answer.server_id == week.server_id,
            answer.kind.in_(_INTERACTIONS),
            week.during(answer.occurred_at),
            mentioned,
            _reaching(answer),
            earlier.kind.in_(_INTERACTIONS),
            earlier.occurred_at >= week.start - CONVERSATION_WINDOW,
            earlier.occurred_at <= answer.occurred_at,
        )
        .group_by(answer.id, answer.member_id, answer.other_member_id, answer.occurred_at)
    )
    pairs = {
        pair_of(row[0], row[1]) for row in reciprocated if row[2] - row[3] <= CONVERSATION_WINDOW
    }

    turn = ActivityEvent
    low = case((turn.member_id < turn.other_member_id, turn.member_id), else_=turn.other_member_id)
    high = case((turn.member_id < turn.other_member_id, turn.other_member_id), else_=turn.member_id)
    busy_threads = (
        select(turn.channel_id)
        .where(
            turn.server_id == week.server_id,
            turn.kind == EventKind.THREAD_MESSAGE.value,
            week.during(turn.occurred_at),
        )
        .distinct()
    )
    mentioned = (
        true()
        if week.members is None
        else or_(turn.member_id.in_(week.members), turn.other_member_id.in_(week.members))
    )
    # Counting the pair's turns up to the week's end: the latest of them is this week's and
    # the third or later exactly when some turn this week is.
    threads = await session.execute(
        select(low, high)
        .where(
            turn.server_id == week.server_id,
            turn.kind == EventKind.THREAD_MESSAGE.value,
            turn.channel_id.in_(busy_threads),
            turn.occurred_at < week.end,
            mentioned,
            _reaching(turn),
        )
        .group_by(low, high, turn.channel_id)
        .having(func.count() >= THREAD_TURNS, func.max(turn.occurred_at) >= week.start)
    )
    pairs.update((row[0], row[1]) for row in threads)
    return pairs


def _both_ways(pairs: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    return [edge for a, b in pairs for edge in ((a, b), (b, a))]


async def _converse_with(session: AsyncSession, week: _Week, count: int) -> set[int]:
    return _at_least(_both_ways(await _conversation_pairs(session, week)), count)


async def _converse_again(session: AsyncSession, week: _Week, count: int) -> set[int]:
    # "Before" is read from the derived conversation weeks, which are whole UTC weeks: only
    # weeks ended before the one the challenge starts in count, so nothing is counted twice.
    pairs = sorted(await _conversation_pairs(session, week))
    again: set[tuple[int, int]] = set()
    for first in range(0, len(pairs), _IN_CHUNK):
        rows = await session.execute(
            select(ConversationWeek.member_a, ConversationWeek.member_b)
            .where(
                ConversationWeek.server_id == week.server_id,
                tuple_(ConversationWeek.member_a, ConversationWeek.member_b).in_(
                    pairs[first : first + _IN_CHUNK]
                ),
                ConversationWeek.week < week_of(week.start),
            )
            .distinct()
        )
        again.update((row[0], row[1]) for row in rows)
    return _at_least(_both_ways(again), count)


async def _reply_back(session: AsyncSession, week: _Week, count: int) -> set[int]:
    reached = aliased(ActivityEvent)
    rows = await session.scalars(
        select(ActivityEvent.member_id)
        .where(
            _event_in_week(week, *_TALKING),
            _reaching(),
            exists(
                select(reached.id).where(
                    reached.server_id == ActivityEvent.server_id,
                    reached.member_id == ActivityEvent.other_member_id,
                    reached.other_member_id == ActivityEvent.member_id,
                    reached.kind.in_(_INTERACTIONS),
                    reached.occurred_at >= week.start - REPLY_BACK_WINDOW,
                    reached.occurred_at < ActivityEvent.occurred_at,
                )
            ),
        )
        .group_by(ActivityEvent.member_id)
        .having(func.count(func.distinct(ActivityEvent.other_member_id)) >= count)
    )
    return set(rows)


# -- Request ---------------------------------------------------------------------------------


async def _ask(session: AsyncSession, week: _Week, count: int) -> set[int]:
    return await _events(session, week, count, EventKind.ASK, ActivityEvent.id)


async def _ask_answered(session: AsyncSession, week: _Week, count: int) -> set[int]:
    rows = await session.scalars(
        select(Ask.asker_id)
        .join(AskAnswer, AskAnswer.ask_id == Ask.id)
        .where(_answers_in_week(week), week.only(Ask.asker_id))
        .group_by(Ask.asker_id)
        .having(func.count(func.distinct(Ask.id)) >= count)
    )
    return set(rows)


async def _mark_helpful(session: AsyncSession, week: _Week, count: int) -> set[int]:
    return await _events(session, week, count, EventKind.MARKED_HELPFUL, ActivityEvent.message_id)


_CHECKS: dict[RuleKind, Callable[[AsyncSession, _Week, int], Awaitable[set[int]]]] = {
    RuleKind.REACH_NEW_PEOPLE: _reach_new_people,
    RuleKind.REPLY_TO_PEOPLE: _reply_to_people,
    RuleKind.REACT_TO_PEOPLE: _react_to_people,
    RuleKind.WELCOME_NEWCOMER: _welcome_newcomer,
    RuleKind.INTRODUCE_YOURSELF: _introduce_yourself,
    RuleKind.SHARE: _share,
    RuleKind.SHARE_FOUND_USEFUL: _share_found_useful,
    RuleKind.ANSWER_ASKS: _answer_asks,
    RuleKind.FIRST_ANSWER: _first_answer,
    RuleKind.HELPFUL_ANSWER: _helpful_answer,
    RuleKind.CONVERSE_WITH: _converse_with,
    RuleKind.CONVERSE_AGAIN: _converse_again,
    RuleKind.REPLY_BACK: _reply_back,
    RuleKind.ASK: _ask,
    RuleKind.ASK_ANSWERED: _ask_answered,
    RuleKind.MARK_HELPFUL: _mark_helpful,
}
