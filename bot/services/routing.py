"""Request: who is likely to answer a question, and why.

A helper scores for what they told the network (they offered to help with the tag, or teach
it), for what they did (shared resources and answered asks on the tag, answered questions
lately at all) and, a little, for knowing the asker.

"Lately" fades: each answer of the last 60 days counts half as much every week. Replaying a
real community (``bench.coaching_quality``) showed that whoever answered most in the last few
days is the best guess for the next untagged question: recall@3 0.25-0.26 against 0.23 for a
flat 60-day count and 0.15 for the most active members; knowing the asker barely moved it, so
it only breaks near-ties. Only members who offered to help with one of the
ask's tags may be pinged; the others are named without a notification.

Every query is bounded by an index and a limit, so routing costs the same in any server.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    CompoundSelect,
    Select,
    String,
    bindparam,
    cast,
    exists,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.types import TypeEngine

from bot.db import (
    AskAnswer,
    AskTag,
    MemberInterest,
    Resource,
    ResourceTag,
)
from bot.db.prepared import Prepared
from bot.db.statements import InsertFactory, PerDialect, Rows, is_one_of, table_of
from bot.services.interests import InterestKind, tag_variants
from bot.services.members import first_active
from bot.services.ties import tied_with

ACTIVE_WITHIN = timedelta(days=90)
RECENT_ANSWERS_WITHIN = timedelta(days=60)
# An answer counts half as much after this long (see the module's docstring).
RECENT_ANSWERS_HALF_LIFE = timedelta(days=7)
# The latest answers read to weigh recent answerers: bounds the read in a busy server.
RECENT_ANSWER_ROWS = 5000
# Answers on an ask's tags are counted among the server's latest this many answers.
TAG_ANSWER_ROWS = 5000
CANDIDATE_LIMIT = 200
MAX_HELPERS = 3
# Who may be named is read for this many times ``limit`` of the best-scored helpers at a time.
ACTIVE_CHECK_MARGIN = 4


# The queries, built once (see bot.db.statements).
_INTERESTS = table_of(MemberInterest)
_RESOURCES = table_of(Resource)
_RESOURCE_TAGS = table_of(ResourceTag)
_ANSWERS = table_of(AskAnswer)
_ASK_TAGS = table_of(AskTag)
_SERVER: BindParameter[int] = bindparam("server_id")


def _known_for(insert: InsertFactory) -> Select[Any]:
    """Who offered help with, or works with, one of the tags' variants."""
    return (
        select(_INTERESTS.c.user_id, _INTERESTS.c.kind, _INTERESTS.c.tag)
        .where(
            _INTERESTS.c.server_id == _SERVER,
            is_one_of(_INTERESTS.c.tag, "variants", insert, String()),
            _INTERESTS.c.kind != InterestKind.LEARN.value,
        )
        .limit(CANDIDATE_LIMIT * 4)
    )


def _sharers(insert: InsertFactory) -> Select[Any]:
    """Who shared resources on the tags, and how many (a resource on two of the tags once)."""
    shares = func.count(func.distinct(_RESOURCE_TAGS.c.resource_id))
    return (
        select(_RESOURCES.c.shared_by, shares.label("shares"))
        .join(_RESOURCE_TAGS, _RESOURCE_TAGS.c.resource_id == _RESOURCES.c.id)
        .where(
            _RESOURCE_TAGS.c.server_id == _SERVER,
            is_one_of(_RESOURCE_TAGS.c.tag, "tags", insert, String()),
        )
        .group_by(_RESOURCES.c.shared_by)
        .order_by(shares.desc())
        .limit(CANDIDATE_LIMIT)
    )


def _answerers(insert: InsertFactory) -> Select[Any]:
    """Who answered asks on the tags, how often, and how often helpfully: among the server's
    latest TAG_ANSWER_ROWS answers, read from the answers (few) to their asks' tags, not from
    every ask with the tag (all of them, a number that only grows: 0.6 ms for a thousand
    unanswered asks on "science")."""
    latest = (
        select(_ANSWERS.c.ask_id, _ANSWERS.c.answerer_id, _ANSWERS.c.helpful_at)
        .where(_ANSWERS.c.server_id == _SERVER)
        .order_by(_ANSWERS.c.answered_at.desc())
        .limit(TAG_ANSWER_ROWS)
        .subquery()
    )
    return (
        select(
            latest.c.answerer_id,
            func.count().label("answers"),
            func.count(latest.c.helpful_at).label("helpful"),
        )
        .where(
            exists().where(
                _ASK_TAGS.c.ask_id == latest.c.ask_id,
                is_one_of(_ASK_TAGS.c.tag, "tags", insert, String()),
            )
        )
        .group_by(latest.c.answerer_id)
        .order_by(func.count().desc())
        .limit(CANDIDATE_LIMIT)
    )


_RECENT_ANSWERS = (
    select(_ANSWERS.c.answerer_id, _ANSWERS.c.answered_at)
    .where(
        _ANSWERS.c.server_id == _SERVER,
        _ANSWERS.c.answered_at > bindparam("since"),
        _ANSWERS.c.answered_at <= bindparam("now"),
    )
    .order_by(_ANSWERS.c.answered_at.desc())
    .limit(RECENT_ANSWER_ROWS)
)

# What the four reads give, as the columns of the one statement they are parts of.
_SIGNAL_COLUMNS: dict[str, TypeEngine[Any]] = {
    "member_id": BigInteger(),
    "kind": String(),
    "tag": String(),
    "n1": BigInteger(),
    "n2": BigInteger(),
    "at": _ANSWERS.c.answered_at.type,
}


def _part(name: str, read: Select[Any], **given: str) -> Select[Any]:
    """One read as a part of ``_SIGNALS``: its row tagged with ``name``, its columns (named
    in ``given`` by the column they fill) in place, NULL in the others."""
    source = read.subquery()
    filled = {column: source.c[key] for column, key in given.items()}
    return select(
        literal(name).label("part"),
        *(
            (filled[column] if column in filled else cast(null(), type_)).label(column)
            for column, type_ in _SIGNAL_COLUMNS.items()
        ),
    ).select_from(source)


def _signals(insert: InsertFactory) -> CompoundSelect[Any]:
    """Everything routing reads before it scores, as one statement.

    The four reads need only the ask's tags; run one after another they were four round trips
    on PostgreSQL (each about 0.25 ms of the bot's and the server's time, on this machine more
    than the searches themselves). As parts of one UNION ALL each is still its own index
    search with its own limit (``test_routing_query_plan``)."""
    return union_all(
        _part("known", _known_for(insert), member_id="user_id", kind="kind", tag="tag"),
        _part("shares", _sharers(insert), member_id="shared_by", n1="shares"),
        _part("answers", _answerers(insert), member_id="answerer_id", n1="answers", n2="helpful"),
        _part("recent", _RECENT_ANSWERS, member_id="answerer_id", at="answered_at"),
    )


_SIGNALS = Prepared(PerDialect(_signals))


@dataclass(frozen=True, slots=True)
class HelperPick:
    member_id: int
    display_name: str
    # Why, in a few words each: "offered to help with assessment", "answered 4 asks lately".
    reasons: tuple[str, ...]
    # Offered to help with one of the ask's tags: the only helpers the bot may ping.
    opted_in: bool


@dataclass
class _Helper:
    member_id: int
    offered: list[str] = field(default_factory=list)
    knows: list[str] = field(default_factory=list)
    shares: int = 0
    tag_answers: int = 0
    helpful: int = 0
    recent_answers: int = 0
    # recent_answers, each faded by its age (1.0 for an answer just now).
    recent_weight: float = 0.0
    knows_asker: bool = False

    def score(self) -> float:
        return (
            5.0 * bool(self.offered)
            + 2.0 * min(len(self.knows), 2)
            + 1.5 * min(self.shares, 3)
            + 2.0 * min(self.tag_answers, 3)
            + 1.0 * min(self.helpful, 3)
            + 1.5 * math.log2(1 + self.recent_weight)
            + 0.5 * self.knows_asker
        )

    def reasons(self) -> tuple[str, ...]:
        found: list[str] = []
        if self.offered:
            found.append("offered to help with " + ", ".join(self.offered[:2]))
        if self.knows:
            found.append("works with " + ", ".join(self.knows[:2]))
        if self.tag_answers:
            found.append(_count(self.tag_answers, "ask") + " answered on these tags")
        if self.shares:
            found.append(_count(self.shares, "resource") + " shared on these tags")
        if self.recent_answers and not self.tag_answers:
            found.append(_count(self.recent_answers, "question") + " answered lately")
        if self.knows_asker:
            found.append("has talked with you before")
        return tuple(found)


def _count(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


async def route_helpers(
    session: Rows,
    *,
    server_id: int,
    asker_id: int,
    tags: Sequence[str],
    now: datetime,
    limit: int = MAX_HELPERS,
    exclude: Collection[int] = (),
) -> list[HelperPick]:
    """Up to ``limit`` members likely to answer, best first; never the asker, nor members who
    paused tracking."""
    helpers: dict[int, _Helper] = defaultdict(lambda: _Helper(0))

    def helper(member_id: int) -> _Helper:
        found = helpers[member_id]
        found.member_id = member_id
        return found

    variants = {variant: tag for tag in tags for variant in tag_variants(tag)}
    rows = await _SIGNALS.execute(
        session,
        {
            "server_id": server_id,
            "variants": sorted(variants),
            "tags": list(tags),
            "since": now - RECENT_ANSWERS_WITHIN,
            "now": now,
        },
    )
    counts: defaultdict[int, int] = defaultdict(int)
    weights: defaultdict[int, float] = defaultdict(float)
    for row in rows.all():
        if row.part == "known":
            target = helper(row.member_id)
            if row.kind == InterestKind.HELP.value:
                target.offered.append(variants[row.tag])
            elif variants[row.tag] not in target.knows:
                target.knows.append(variants[row.tag])
        elif row.part == "shares":
            helper(row.member_id).shares = row.n1
        elif row.part == "answers":
            target = helper(row.member_id)
            target.tag_answers, target.helpful = row.n1, row.n2
        else:  # "recent"
            counts[row.member_id] += 1
            weights[row.member_id] += 0.5 ** ((now - row.at) / RECENT_ANSWERS_HALF_LIFE)
    for user_id in sorted(weights, key=lambda member: -weights[member])[:CANDIDATE_LIMIT]:
        target = helper(user_id)
        target.recent_answers, target.recent_weight = counts[user_id], weights[user_id]
    for skipped in (asker_id, *exclude):
        helpers.pop(skipped, None)
    if not helpers:
        return []

    for member_id in await tied_with(session, server_id, asker_id, list(helpers)):
        helpers[member_id].knows_asker = True
    return await _best_active(session, server_id, helpers.values(), now, limit)


async def _best_active(
    session: Rows, server_id: int, helpers: Iterable[_Helper], now: datetime, limit: int
) -> list[HelperPick]:
    """The ``limit`` best-scored helpers who may be named, ties going to the one seen last.

    Who may be named (still here, not paused, seen lately) is read for the best-scored first,
    a few more than ``limit`` and every helper tied with the last of them, and for the next
    ones only if too few of those may be: in a server where everyone shares an interest,
    checking every helper was a quarter of /ask's time.
    """
    if limit <= 0:
        return []
    scored = sorted(
        ((score, h) for h in helpers if (score := h.score()) > 0),
        key=lambda pair: (-pair[0], pair[1].member_id),
    )
    batches = _batches(scored, limit * ACTIVE_CHECK_MARGIN)
    active = await first_active(session, server_id, batches, limit, now - ACTIVE_WITHIN)
    ranked = sorted(
        ((score, h) for score, h in scored if h.member_id in active),
        key=lambda pair: (-pair[0], -active[pair[1].member_id][1].timestamp(), pair[1].member_id),
    )
    return [
        HelperPick(h.member_id, active[h.member_id][0], h.reasons(), bool(h.offered))
        for _, h in ranked[:limit]
    ]


def _batches(scored: list[tuple[float, _Helper]], size: int) -> Iterator[list[int]]:
    """The helpers' ids, best first, about ``size`` at a time; a batch takes in everyone tied
    with its last, as the seen-last tie-break needs them all."""
    start = 0
    while start < len(scored):
        end = min(len(scored), start + size)
        while end < len(scored) and scored[end][0] == scored[end - 1][0]:
            end += 1
        yield [h.member_id for _, h in scored[start:end]]
        start = end
