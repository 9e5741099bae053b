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
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import AskAnswer, AskTag, Member, MemberInterest, Resource, ResourceTag, Tie
from bot.services.interests import InterestKind, tag_variants
from bot.services.pausing import not_paused

ACTIVE_WITHIN = timedelta(days=90)
RECENT_ANSWERS_WITHIN = timedelta(days=60)
# An answer counts half as much after this long (see the module's docstring).
RECENT_ANSWERS_HALF_LIFE = timedelta(days=7)
# The latest answers read to weigh recent answerers: bounds the read in a busy server.
RECENT_ANSWER_ROWS = 5000
CANDIDATE_LIMIT = 200
MAX_HELPERS = 3


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
    session: AsyncSession,
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
    if variants:
        rows = await session.execute(
            select(MemberInterest.user_id, MemberInterest.kind, MemberInterest.tag)
            .where(
                MemberInterest.server_id == server_id,
                MemberInterest.tag.in_(sorted(variants)),
                MemberInterest.kind != InterestKind.LEARN.value,
            )
            .limit(CANDIDATE_LIMIT * 4)
        )
        for user_id, kind, tag in rows:
            target = helper(user_id)
            if kind == InterestKind.HELP.value:
                target.offered.append(variants[tag])
            elif variants[tag] not in target.knows:
                target.knows.append(variants[tag])
        sharers = await session.execute(
            select(Resource.shared_by, func.count())
            .join(ResourceTag, ResourceTag.resource_id == Resource.id)
            .where(ResourceTag.server_id == server_id, ResourceTag.tag.in_(list(tags)))
            .group_by(Resource.shared_by)
            .order_by(func.count().desc())
            .limit(CANDIDATE_LIMIT)
        )
        for user_id, count in sharers:
            helper(user_id).shares = count
        answerers = await session.execute(
            select(AskAnswer.answerer_id, func.count(), func.count(AskAnswer.helpful_at))
            .join(AskTag, AskTag.ask_id == AskAnswer.ask_id)
            .where(AskTag.server_id == server_id, AskTag.tag.in_(list(tags)))
            .group_by(AskAnswer.answerer_id)
            .order_by(func.count().desc())
            .limit(CANDIDATE_LIMIT)
        )
        for user_id, count, helpful in answerers:
            target = helper(user_id)
            target.tag_answers, target.helpful = count, helpful
    recent = await session.execute(
        select(AskAnswer.answerer_id, AskAnswer.answered_at)
        .where(
            AskAnswer.server_id == server_id,
            AskAnswer.answered_at > now - RECENT_ANSWERS_WITHIN,
            AskAnswer.answered_at <= now,
        )
        .order_by(AskAnswer.answered_at.desc())
        .limit(RECENT_ANSWER_ROWS)
    )
    counts: defaultdict[int, int] = defaultdict(int)
    weights: defaultdict[int, float] = defaultdict(float)
    for user_id, answered_at in recent:
        counts[user_id] += 1
        weights[user_id] += 0.5 ** ((now - answered_at) / RECENT_ANSWERS_HALF_LIFE)
    for user_id in sorted(weights, key=lambda member: -weights[member])[:CANDIDATE_LIMIT]:
        target = helper(user_id)
        target.recent_answers, target.recent_weight = counts[user_id], weights[user_id]
    for skipped in (asker_id, *exclude):
        helpers.pop(skipped, None)
    if not helpers:
        return []

    ids = list(helpers)
    ties = await session.execute(
        select(Tie.member_a, Tie.member_b).where(
            Tie.server_id == server_id,
            or_(
                and_(Tie.member_a == asker_id, Tie.member_b.in_(ids)),
                and_(Tie.member_b == asker_id, Tie.member_a.in_(ids)),
            ),
        )
    )
    for member_a, member_b in ties:
        helpers[member_b if member_a == asker_id else member_a].knows_asker = True
    members = await session.execute(
        select(Member.user_id, Member.display_name, Member.last_seen_at).where(
            Member.server_id == server_id,
            Member.user_id.in_(ids),
            Member.left_at.is_(None),
            Member.last_seen_at > now - ACTIVE_WITHIN,
            not_paused(Member.server_id, Member.user_id),
        )
    )
    active = {row.user_id: (row.display_name, row.last_seen_at) for row in members}
    ranked = sorted(
        (h for h in helpers.values() if h.member_id in active and h.score() > 0),
        key=lambda h: (-h.score(), -active[h.member_id][1].timestamp(), h.member_id),
    )
    return [
        HelperPick(h.member_id, active[h.member_id][0], h.reasons(), bool(h.offered))
        for h in ranked[:limit]
    ]
