"""Connect: who a member should reach out to next, preferring weak ties.

The article's point is the strength of weak ties: the most useful new colleague shares an
interest with you but sits outside your usual circle. So a candidate scores for interests in
common (what you want to learn and they can help with counts most), for taking part lately, and
for having no tie with you yet. A suggestion nobody acts on helps no one, so colleagues in
common count a little *for* a candidate: someone to introduce you, and on real data (replaying
r/AskAcademia, ``bench.coaching_quality``) the people members went on to talk with shared their
colleagues far more often than strangers did, while penalising them named people no one met.

Every query is bounded (recent members and members sharing a tag, a few hundred each, through
indexes; at most ``ACTIVITY_CAP`` events counted per candidate), so the answer takes the same few
milliseconds in a server of 100 or 100,000 members.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, literal_column, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import ActivityEvent, Database, Member, MemberInterest, Tie, utcnow
from bot.habits import EventKind
from bot.services.interests import InterestKind
from bot.services.pausing import not_paused

# Members quiet for longer are not suggested: they may not answer.
ACTIVE_WITHIN = timedelta(days=90)
RECENT_CANDIDATES = 200
TAG_CANDIDATES = 200
# Mutual colleagues are counted against this many of the member's own ties (their latest).
MAX_OWN_TIES = 500
SHORTLIST = 30
# Taking part is counted over this window (replaying real data: 30 days predicted who members go
# on to talk with better than 14 or 60), for this many candidates, up to this many events each:
# more tells no more apart (log scale) and would make a hub's count cost more than anyone's.
ACTIVITY_WINDOW = timedelta(days=30)
ACTIVITY_SHORTLIST = 200
ACTIVITY_CAP = 128
# Colleagues in common are counted up to this many: a few are a way in, many add nothing.
MUTUAL_CAP = 5
_TAKING_PART = [
    kind.value
    for kind in (
        EventKind.REPLY,
        EventKind.THREAD_MESSAGE,
        EventKind.REACTION,
        EventKind.SHARE,
        EventKind.ASK,
        EventKind.ANSWER,
    )
]


@dataclass(frozen=True, slots=True)
class Suggestion:
    user_id: int
    display_name: str
    # Why, in a few words each: "also works with grade 6 · science", "you have not talked yet".
    reasons: tuple[str, ...]
    # Interests in common, for whoever wants to say more ("science", "grade 6").
    shared: tuple[str, ...]
    last_seen_at: datetime
    mutual_ties: int
    already_tied: bool


@dataclass
class _Candidate:
    user_id: int
    display_name: str
    last_seen_at: datetime
    interests: set[tuple[str, str]] = field(default_factory=set)
    tied: bool = False
    mutual: int = 0
    # What they did here lately (replies, reactions, shares, asks, answers): people who take
    # part are the ones who answer back.
    recent: int = 0


@dataclass(frozen=True, slots=True)
class _Match:
    """How a candidate's interests meet the member's."""

    common: tuple[str, ...]  # subjects and grades both have
    they_help: tuple[str, ...]  # what the member wants to learn and they can help with
    they_learn: tuple[str, ...]  # what they want to learn and the member can help with

    @property
    def weight(self) -> int:
        return 2 * len(self.common) + 3 * len(self.they_help) + 2 * len(self.they_learn)


@dataclass(frozen=True, slots=True)
class _Tags:
    """One member's interests split by kind, once: every candidate is matched against them."""

    subjects: frozenset[str]
    grades: frozenset[str]
    learn: frozenset[str]
    # What they can help with: what they said, and their subjects and grades.
    help: frozenset[str]

    @classmethod
    def of(cls, source: set[tuple[str, str]]) -> _Tags:
        by_kind: dict[str, set[str]] = defaultdict(set)
        for kind, tag in source:
            by_kind[kind].add(tag)
        subjects = frozenset(by_kind[InterestKind.SUBJECT])
        grades = frozenset(by_kind[InterestKind.GRADE])
        return cls(
            subjects,
            grades,
            frozenset(by_kind[InterestKind.LEARN]),
            frozenset(by_kind[InterestKind.HELP]) | subjects | grades,
        )


def _match(mine: _Tags, theirs: _Tags) -> _Match:
    grades = mine.grades & theirs.grades
    subjects = mine.subjects & theirs.subjects
    common = tuple(sorted(grades)) + tuple(sorted(subjects - grades))
    # Learning and helping also match subjects ("I want to learn assessment" / "assessment").
    they_help = mine.learn & theirs.help
    they_learn = theirs.learn & mine.help
    return _Match(common, tuple(sorted(they_help)), tuple(sorted(they_learn - they_help)))


def _reasons(match: _Match, candidate: _Candidate, now: datetime) -> tuple[str, ...]:
    reasons: list[str] = []
    if match.common:
        reasons.append("also works with " + " · ".join(match.common[:3]))
    if match.they_help:
        reasons.append(
            "can help with " + ", ".join(match.they_help[:2]) + ", which you want to learn"
        )
    if match.they_learn:
        reasons.append("wants to learn " + ", ".join(match.they_learn[:2]) + ", which you know")
    if candidate.tied:
        reasons.append("you have talked before: pick it up again")
    else:
        reasons.append("you have not talked yet")
    if candidate.mutual == 0 and not candidate.tied:
        reasons.append("outside your usual circle")
    elif candidate.mutual:
        plural = "colleague" if candidate.mutual == 1 else "colleagues"
        reasons.append(f"{candidate.mutual} {plural} in common")
    if now - candidate.last_seen_at < timedelta(days=7):
        reasons.append("active this week")
    return tuple(reasons)


def _score(match: _Match, candidate: _Candidate, now: datetime) -> float:
    """Shared interests first; then how much they take part lately; a nudge toward someone new
    (a bigger one only loses you the people who would answer), and a smaller one for colleagues
    in common (someone to introduce you; they are in the conversations you are in)."""
    score = 3.0 * match.weight
    score += 2.0 * math.log2(1 + candidate.recent)
    score += 0.0 if candidate.tied else 1.0
    score += 1.0 * math.log2(1 + min(candidate.mutual, MUTUAL_CAP))
    return score


class SuggestionService:
    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._database = database
        self._clock = clock

    async def suggest(
        self, server_id: int, user_id: int, *, count: int = 3, exclude: Collection[int] = ()
    ) -> list[Suggestion]:
        """Up to ``count`` members to reach out to, best first.

        Never the member themselves, members who left, members quiet for 90 days, members who
        paused tracking, or anyone in ``exclude`` (e.g. members the caller found are gone, or
        bots).
        """
        now = self._clock()
        skip = {user_id, *exclude}
        async with self._database.read() as session:
            mine = await _interests(session, server_id, [user_id])
            candidates = await _candidates(session, server_id, mine.get(user_id, set()), now)
            for key in skip:
                candidates.pop(key, None)
            if not candidates:
                return []
            interests = await _interests(session, server_id, list(candidates))
            for key, found in interests.items():
                candidates[key].interests = found
            await _mark_ties(session, server_id, user_id, candidates)
            my_tags = _Tags.of(mine.get(user_id, set()))
            matches = {
                c.user_id: _match(my_tags, _Tags.of(c.interests)) for c in candidates.values()
            }
            # How much each takes part is counted for the most promising only (shared interests,
            # then seen last), up to ACTIVITY_CAP events each, so the count stays a bounded index
            # read whatever the server's size. Tied or not, both are counted: ranking the tied
            # last here left out the members who take part most.
            promising = sorted(
                candidates.values(),
                key=lambda c: (
                    -matches[c.user_id].weight,
                    -c.last_seen_at.timestamp(),
                    c.user_id,
                ),
            )[:ACTIVITY_SHORTLIST]
            await _count_recent(session, server_id, {c.user_id: c for c in promising}, now)
            ranked = sorted(
                promising,
                key=lambda c: (
                    -_score(matches[c.user_id], c, now),
                    -c.last_seen_at.timestamp(),
                    c.user_id,
                ),
            )[:SHORTLIST]
            await _count_mutual(session, server_id, user_id, ranked)
        ranked.sort(
            key=lambda c: (
                -_score(matches[c.user_id], c, now),
                -c.last_seen_at.timestamp(),
                c.user_id,
            )
        )
        return [
            Suggestion(
                user_id=c.user_id,
                display_name=c.display_name,
                reasons=_reasons(matches[c.user_id], c, now),
                shared=matches[c.user_id].common + matches[c.user_id].they_help,
                last_seen_at=c.last_seen_at,
                mutual_ties=c.mutual,
                already_tied=c.tied,
            )
            for c in ranked[:count]
        ]


async def _count_recent(
    session: AsyncSession, server_id: int, candidates: dict[int, _Candidate], now: datetime
) -> None:
    """Each candidate's part in the last 30 days, up to ``ACTIVITY_CAP`` events, from the
    (server, member, kind, time) index: one capped range read per candidate."""
    if not candidates:
        return
    since = now - ACTIVITY_WINDOW
    latest = (
        select(literal_column("1"))
        .where(
            ActivityEvent.server_id == server_id,
            ActivityEvent.member_id == Member.user_id,
            ActivityEvent.kind.in_(_TAKING_PART),
            ActivityEvent.occurred_at > since,
        )
        .limit(ACTIVITY_CAP)
        .correlate(Member)
        .subquery()
    )
    counted = select(func.count()).select_from(latest).correlate(Member).scalar_subquery()
    rows = await session.execute(
        select(Member.user_id, counted).where(
            Member.server_id == server_id, Member.user_id.in_(list(candidates))
        )
    )
    for member_id, count in rows:
        candidates[member_id].recent = count or 0


def _active(server_id: int, now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        Member.server_id == server_id,
        Member.left_at.is_(None),
        Member.last_seen_at > now - ACTIVE_WITHIN,
        not_paused(Member.server_id, Member.user_id),  # /privacy pause: never suggested
    )


async def _candidates(
    session: AsyncSession, server_id: int, mine: set[tuple[str, str]], now: datetime
) -> dict[int, _Candidate]:
    """Recently active members, and active members sharing one of the member's tags."""
    found: dict[int, _Candidate] = {}
    recent = await session.execute(
        select(Member.user_id, Member.display_name, Member.last_seen_at)
        .where(*_active(server_id, now))
        .order_by(Member.last_seen_at.desc())
        .limit(RECENT_CANDIDATES)
    )
    for row in recent:
        found[row.user_id] = _Candidate(row.user_id, row.display_name, row.last_seen_at)
    tags = sorted({tag for _, tag in mine})
    if tags:
        sharing = await session.execute(
            select(Member.user_id, Member.display_name, Member.last_seen_at)
            .join(
                MemberInterest,
                (MemberInterest.server_id == Member.server_id)
                & (MemberInterest.user_id == Member.user_id),
            )
            .where(MemberInterest.server_id == server_id, MemberInterest.tag.in_(tags))
            .where(*_active(server_id, now))
            .distinct()
            .order_by(Member.last_seen_at.desc())
            .limit(TAG_CANDIDATES)
        )
        for row in sharing:
            found.setdefault(
                row.user_id, _Candidate(row.user_id, row.display_name, row.last_seen_at)
            )
    return found


async def _interests(
    session: AsyncSession, server_id: int, user_ids: list[int]
) -> dict[int, set[tuple[str, str]]]:
    found: dict[int, set[tuple[str, str]]] = defaultdict(set)
    rows = await session.execute(
        select(MemberInterest.user_id, MemberInterest.kind, MemberInterest.tag).where(
            MemberInterest.server_id == server_id, MemberInterest.user_id.in_(user_ids)
        )
    )
    for row in rows:
        found[row.user_id].add((row.kind, row.tag))
    return found


async def _mark_ties(
    session: AsyncSession, server_id: int, user_id: int, candidates: dict[int, _Candidate]
) -> None:
    """Which candidates the member has a tie with: one primary-key look-up per pair.

    One query per side of the pair: an OR of the two (or a row-value IN) scans the server's ties.
    """
    ids = list(candidates)
    rows = await session.execute(
        union_all(
            select(Tie.member_a, Tie.member_b).where(
                Tie.server_id == server_id, Tie.member_a == user_id, Tie.member_b.in_(ids)
            ),
            select(Tie.member_a, Tie.member_b).where(
                Tie.server_id == server_id, Tie.member_b == user_id, Tie.member_a.in_(ids)
            ),
        )
    )
    for row in rows:
        other = row.member_b if row.member_a == user_id else row.member_a
        candidates[other].tied = True


async def _own_ties(session: AsyncSession, server_id: int, user_id: int) -> list[int]:
    """The member's latest ties, from either side of the pair.

    Each side reads at most ``MAX_OWN_TIES`` entries of its (member, last_at) index, so a hub
    with thousands of ties costs no more than a member with five hundred.
    """
    sides = []
    for me, other in ((Tie.member_a, Tie.member_b), (Tie.member_b, Tie.member_a)):
        latest = (
            select(other.label("other"), Tie.last_at.label("last_at"))
            .where(Tie.server_id == server_id, me == user_id)
            .order_by(Tie.last_at.desc())
            .limit(MAX_OWN_TIES)
            .subquery()
        )
        sides.append(select(latest.c.other, latest.c.last_at))
    rows = sorted(
        (await session.execute(union_all(*sides))).all(),
        key=lambda row: row.last_at,
        reverse=True,
    )
    return [row.other for row in rows[:MAX_OWN_TIES]]


async def _count_mutual(
    session: AsyncSession, server_id: int, user_id: int, shortlist: list[_Candidate]
) -> None:
    """How many of the member's colleagues each shortlisted candidate also has a tie with."""
    own = await _own_ties(session, server_id, user_id)
    if not own or not shortlist:
        return
    by_id = {c.user_id: c for c in shortlist}
    ids = list(by_id)
    # The shortlisted candidates' ties are read from the indexes and matched against the
    # member's own colleagues there (``+ 0`` keeps the planner from probing every pair: up to
    # 30 x 500 look-ups, against a few dozen ties each for most candidates).
    rows = await session.execute(
        union_all(
            select(Tie.member_a, Tie.member_b).where(
                Tie.server_id == server_id, Tie.member_a.in_(ids), (Tie.member_b + 0).in_(own)
            ),
            select(Tie.member_a, Tie.member_b).where(
                Tie.server_id == server_id, Tie.member_b.in_(ids), (Tie.member_a + 0).in_(own)
            ),
        )
    )
    colleagues = set(own)
    for row in rows:
        if row.member_a in by_id and row.member_b in colleagues:
            by_id[row.member_a].mutual += 1
        if row.member_b in by_id and row.member_a in colleagues:
            by_id[row.member_b].mutual += 1
