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
milliseconds in a server of 100 or 100,000 members. The server's recently active members, their
interests and counts are read once for every suggestion made there in ten seconds
(``candidate_pool``); who may be named is checked for each.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Select,
    String,
    bindparam,
    cast,
    exists,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql

from bot.db import (
    Database,
    Member,
    MemberInterest,
    MemberPreferences,
    Tie,
    utcnow,
)
from bot.db.prepared import Prepared
from bot.db.statements import (
    LONG_LIST,
    InsertFactory,
    PerDialect,
    Rows,
    is_one_of,
    plan_for_long_lists,
    table_of,
)
from bot.services.candidate_pool import (
    ACTIVE_WITHIN,
    ActiveMembers,
    Candidate,
    CandidatePool,
    count_recent,
)
from bot.services.interest_match import NO_MATCH, Interests, Match, TagBits, members_interests
from bot.services.members import first_active
from bot.services.pausing import not_paused
from bot.services.ties import tied_with

TAG_CANDIDATES = 200
# Mutual colleagues are counted against this many of the member's own ties (their latest).
MAX_OWN_TIES = 500
SHORTLIST = 30
# How much members take part is weighed for this many candidates (shared interests first).
ACTIVITY_SHORTLIST = 200
# Colleagues in common are counted up to this many: a few are a way in, many add nothing.
MUTUAL_CAP = 5


# The queries, built once (see bot.db.statements).
_MEMBERS = table_of(Member)
_INTERESTS = table_of(MemberInterest)
_TIES = table_of(Tie)
_PREFERENCES = table_of(MemberPreferences)
_SERVER: BindParameter[int] = bindparam("server_id")
_USER: BindParameter[int] = bindparam("user_id")
_ACTIVE = (
    _MEMBERS.c.server_id == _SERVER,
    _MEMBERS.c.left_at.is_(None),
    _MEMBERS.c.last_seen_at > bindparam("active_since"),
    not_paused(_MEMBERS.c.server_id, _MEMBERS.c.user_id),  # /privacy pause
)
_CANDIDATE_COLUMNS = (_MEMBERS.c.user_id, _MEMBERS.c.display_name, _MEMBERS.c.last_seen_at)


def _sharing_a_tag(insert: InsertFactory) -> Select[Any]:
    """Active members with one of the tags, seen last first: the planners need it told apart.

    SQLite walks the tag index and sorts the few hundred matches. PostgreSQL, given the same
    join, read every active member and sorted the thousands who share a popular tag (~100 ms
    in a server of 100,000); asked instead for members, seen last first, who have one of the
    tags (and without the pause check as an anti-join, which turned that walk back into a
    hash join), it stops at the 200th: 5–20 ms.
    """
    if insert is postgresql.insert:
        paused = select(_PREFERENCES.c.user_id).where(
            _PREFERENCES.c.server_id == _SERVER, _PREFERENCES.c.paused_at.is_not(None)
        )
        return (
            select(*_CANDIDATE_COLUMNS)
            .where(
                _MEMBERS.c.server_id == _SERVER,
                _MEMBERS.c.left_at.is_(None),
                _MEMBERS.c.last_seen_at > bindparam("active_since"),
                exists().where(
                    _INTERESTS.c.server_id == _MEMBERS.c.server_id,
                    _INTERESTS.c.user_id == _MEMBERS.c.user_id,
                    is_one_of(_INTERESTS.c.tag, "tags", insert, String()),
                ),
                _MEMBERS.c.user_id.not_in(paused),
            )
            .order_by(_MEMBERS.c.last_seen_at.desc())
            .limit(TAG_CANDIDATES)
        )
    return (
        select(*_CANDIDATE_COLUMNS)
        .join(
            _INTERESTS,
            (_INTERESTS.c.server_id == _MEMBERS.c.server_id)
            & (_INTERESTS.c.user_id == _MEMBERS.c.user_id),
        )
        .where(
            _INTERESTS.c.server_id == _SERVER,
            is_one_of(_INTERESTS.c.tag, "tags", insert, String()),
            *_ACTIVE,
        )
        .distinct()
        .order_by(_MEMBERS.c.last_seen_at.desc())
        .limit(TAG_CANDIDATES)
    )


_SHARING_A_TAG = Prepared(PerDialect(_sharing_a_tag))
# Only the candidates' interests that are also the member's can match: the rest are not read.
# Searched by candidate (a few rows each), never by tag: ``|| ''`` keeps the planners off the
# tag index, which PostgreSQL chose for hubs and then read every member's row with a popular
# tag (45,000 in a server of 100,000, 15-20 ms) to keep the few hundred candidates'.
_INTERESTS_IN_COMMON = Prepared(
    PerDialect(
        lambda insert: select(_INTERESTS.c.user_id, _INTERESTS.c.kind, _INTERESTS.c.tag).where(
            _INTERESTS.c.server_id == _SERVER,
            is_one_of(_INTERESTS.c.user_id, "ids", insert, BigInteger()),
            is_one_of(_INTERESTS.c.tag.concat(literal_column("''")), "tags", insert, String()),
        )
    )
)


def _latest_ties(me: Any, other: Any) -> Select[Any]:
    latest = (
        select(other.label("other"), _TIES.c.last_at.label("last_at"))
        .where(_TIES.c.server_id == _SERVER, me == _USER)
        .order_by(_TIES.c.last_at.desc())
        .limit(MAX_OWN_TIES)
        .subquery()
    )
    return select(
        latest.c.other,
        latest.c.last_at,
        cast(None, _INTERESTS.c.kind.type).label("kind"),
        cast(None, _INTERESTS.c.tag.type).label("tag"),
    )


# The member's latest ties (from either side of the pair) and their own interests, in one
# statement (on PostgreSQL each is a round trip): a tie's row has ``other``, an interest's not.
_MINE: Prepared[Any] = Prepared(
    union_all(
        _latest_ties(_TIES.c.member_a, _TIES.c.member_b),
        _latest_ties(_TIES.c.member_b, _TIES.c.member_a),
        select(
            cast(None, _TIES.c.member_a.type),
            cast(None, _TIES.c.last_at.type),
            _INTERESTS.c.kind,
            _INTERESTS.c.tag,
        ).where(_INTERESTS.c.server_id == _SERVER, _INTERESTS.c.user_id == _USER),
    )
)
# The shortlisted candidates' ties, matched against the member's own colleagues in the index
# (``+ 0`` keeps the planner from probing every pair: up to 30 x 500 look-ups, against a few
# dozen ties each for most candidates).
_TIES_AMONG = Prepared(
    PerDialect(
        lambda insert: union_all(
            select(_TIES.c.member_a, _TIES.c.member_b).where(
                _TIES.c.server_id == _SERVER,
                is_one_of(_TIES.c.member_a, "ids", insert, BigInteger()),
                is_one_of(_TIES.c.member_b + 0, "own", insert, BigInteger()),
            ),
            select(_TIES.c.member_a, _TIES.c.member_b).where(
                _TIES.c.server_id == _SERVER,
                is_one_of(_TIES.c.member_b, "ids", insert, BigInteger()),
                is_one_of(_TIES.c.member_a + 0, "own", insert, BigInteger()),
            ),
        )
    )
)


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


@dataclass(slots=True)
class _Standing:
    """What one member's suggestions know of their ties to the candidates."""

    tied: set[int]
    mutual: dict[int, int]

    def reasons(self, match: Match, candidate: Candidate, now: datetime) -> tuple[str, ...]:
        reasons: list[str] = []
        if match.common:
            reasons.append("also works with " + " · ".join(match.common[:3]))
        if match.they_help:
            reasons.append(
                "can help with " + ", ".join(match.they_help[:2]) + ", which you want to learn"
            )
        if match.they_learn:
            reasons.append("wants to learn " + ", ".join(match.they_learn[:2]) + ", which you know")
        tied = candidate.user_id in self.tied
        mutual = self.mutual.get(candidate.user_id, 0)
        if tied:
            reasons.append("you have talked before: pick it up again")
        else:
            reasons.append("you have not talked yet")
        if mutual == 0 and not tied:
            reasons.append("outside your usual circle")
        elif mutual:
            plural = "colleague" if mutual == 1 else "colleagues"
            reasons.append(f"{mutual} {plural} in common")
        if now - candidate.last_seen_at < timedelta(days=7):
            reasons.append("active this week")
        return tuple(reasons)

    def ranked(self, candidates: Iterable[Candidate], weights: dict[int, int]) -> list[Candidate]:
        """Best first. Shared interests (their ``weights``) first; then how much they take part
        lately; a nudge toward someone new (a bigger one only loses you the people who would
        answer), and a smaller one for colleagues in common (someone to introduce you; they are
        in the conversations you are in). Ties go to the one seen last.

        Every candidate is scored in one pass, without a call per candidate: the pass is most
        of what ranking costs."""
        tied, mutual = self.tied, self.mutual
        scored = [
            (
                -(
                    3.0 * weights.get(c.user_id, 0)
                    + 2.0 * c.taking_part
                    + (0.0 if c.user_id in tied else 1.0)
                    + (math.log2(1 + min(n, MUTUAL_CAP)) if (n := mutual.get(c.user_id)) else 0.0)
                ),
                c.seen,
                c.user_id,
                c,
            )
            for c in candidates
        ]
        scored.sort()  # ids differ: the candidates themselves are never compared
        return [entry[3] for entry in scored]


class SuggestionService:
    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._database = database
        self._clock = clock
        self._pool = CandidatePool(database)

    async def close(self) -> None:
        """Before the database is disposed of: the active members' reads under way end."""
        await self._pool.close()

    def members_changed(self, server_id: int) -> None:
        """Someone in the server introduced themselves, offered help or joined (in this
        process): suggest from a list read after that (``CandidatePool.members_changed``)."""
        self._pool.members_changed(server_id)

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
        # A big server's lists are planned for in a transaction (plan_for_long_lists); a
        # small one's statements run on their own (on PostgreSQL, no BEGIN and ROLLBACK).
        known = await self._pool.settled(server_id, now)
        small = known is not None and known.small
        async with self._database.read_rows(in_transaction=not small) as session:
            mine, own, complete = await _mine(session, server_id, user_id)
            active = await self._pool.active_members(session, server_id, now)
            candidates = {key: c for key, c in active.members.items() if key not in skip}
            # A busy server: members sharing a tag, seen before the most recent, are read too.
            extra = await _sharing_a_tag_too(session, server_id, mine, now, active, skip)
            candidates.update(extra)
            if not candidates:
                return []
            if len(candidates) > LONG_LIST:  # a big server: plan for its long lists
                await plan_for_long_lists(session)
            # The candidates' interests, and the member's on the same numbering of tags.
            interests = active.interests
            mine_on = {active.bits: Interests.of(active.bits, mine)}
            if extra:
                bits, read = await _interests_of(session, server_id, mine, extra)
                interests = {**interests, **read}
                mine_on[bits] = Interests.of(bits, mine)
            weights = {
                user_id: weight
                for user_id in candidates
                if (their := interests.get(user_id)) is not None
                and (weight := their.weight(mine_on[their.bits]))
            }
            if complete:
                tied = candidates.keys() & set(own)
            else:
                tied = await tied_with(session, server_id, user_id, candidates)
            standing = _Standing(tied, {})
            # How much each takes part is weighed for the most promising only (shared
            # interests, then seen last): the pool's members are counted already, the busy
            # server's others here, up to ACTIVITY_CAP events each, so the count stays a bounded
            # index read whatever the server's size. Tied or not, both are counted: ranking the
            # tied last here left out the members who take part most.
            promising = list(candidates.values())
            if len(promising) > ACTIVITY_SHORTLIST:
                promising.sort(key=lambda c: (-weights.get(c.user_id, 0), c.seen, c.user_id))
                del promising[ACTIVITY_SHORTLIST:]
            uncounted = {c.user_id: c for c in promising if c.user_id in extra}
            await count_recent(session, server_id, uncounted, now)

            ranked = standing.ranked(promising, weights)[:SHORTLIST]
            standing.mutual = await _count_mutual(session, server_id, own, ranked)
            ranked = standing.ranked(ranked, weights)
            # The best first, and the rest of the shortlist only if some of them cannot be named.
            names = await _still_suggestible(session, server_id, ranked, count, now)
        suggestions = []
        for c in [c for c in ranked if c.user_id in names][:count]:
            their = interests.get(c.user_id)
            match = NO_MATCH if their is None else their.match(mine_on[their.bits])
            suggestions.append(
                Suggestion(
                    user_id=c.user_id,
                    display_name=names[c.user_id],
                    reasons=standing.reasons(match, c, now),
                    shared=match.common + match.they_help,
                    last_seen_at=c.last_seen_at,
                    mutual_ties=standing.mutual.get(c.user_id, 0),
                    already_tied=c.user_id in tied,
                )
            )
        return suggestions


async def _sharing_a_tag_too(
    session: Rows,
    server_id: int,
    mine: set[tuple[str, str]],
    now: datetime,
    active: ActiveMembers,
    skip: set[int],
) -> dict[int, Candidate]:
    """In a busy server, active members sharing one of the member's tags who are not among the
    most recently active (in a smaller one every active member is in the pool already)."""
    tags = sorted({tag for _, tag in mine})
    if not tags or active.complete:
        return {}
    rows = await _SHARING_A_TAG.execute(
        session,
        {"server_id": server_id, "active_since": now - ACTIVE_WITHIN, "tags": tags},
    )
    return {
        row.user_id: Candidate(*row)
        for row in rows.all()
        if row.user_id not in active.members and row.user_id not in skip
    }


async def _interests_of(
    session: Rows, server_id: int, mine: set[tuple[str, str]], candidates: dict[int, Candidate]
) -> tuple[TagBits, dict[int, Interests]]:
    """The interests candidates outside the pool have in common with the member (their other
    tags cannot match), numbered on the member's tags."""
    tags = sorted({tag for _, tag in mine})
    if not tags:
        return TagBits(()), {}
    rows = await _INTERESTS_IN_COMMON.execute(
        session, {"server_id": server_id, "ids": list(candidates), "tags": tags}
    )
    return members_interests(rows.all(), TagBits(tags))


async def _still_suggestible(
    session: Rows, server_id: int, ranked: list[Candidate], count: int, now: datetime
) -> dict[int, str]:
    """Of the ranked, who may be named (the pool may be old), with their name today: read for
    the best ``count``, and for the rest only if some of those can't be."""
    ids = [c.user_id for c in ranked]
    found = await first_active(
        session, server_id, (ids[:count], ids[count:]), count, now - ACTIVE_WITHIN
    )
    return {user_id: name for user_id, (name, _) in found.items()}


async def _mine(
    session: Rows, server_id: int, user_id: int
) -> tuple[set[tuple[str, str]], list[int], bool]:
    """The member's own interests as (kind, tag), their latest ties (latest first), and
    whether those are all of their ties.

    Each side of the pair reads at most ``MAX_OWN_TIES`` entries of its (member, last_at)
    index, so a hub with thousands of ties costs no more than a member with five hundred.
    """
    rows = (await _MINE.execute(session, {"server_id": server_id, "user_id": user_id})).all()
    interests = {(row.kind, row.tag) for row in rows if row.other is None}
    ties = [row for row in rows if row.other is not None]
    complete = len(ties) < MAX_OWN_TIES  # then neither side reached its limit
    ties.sort(key=lambda row: row.last_at, reverse=True)
    return interests, [row.other for row in ties[:MAX_OWN_TIES]], complete


async def _count_mutual(
    session: Rows, server_id: int, own: list[int], shortlist: list[Candidate]
) -> dict[int, int]:
    """How many of the member's colleagues each shortlisted candidate also has a tie with."""
    mutual: dict[int, int] = {}
    if not own or not shortlist:
        return mutual
    shortlisted = {c.user_id for c in shortlist}
    rows = await _TIES_AMONG.execute(
        session, {"server_id": server_id, "ids": list(shortlisted), "own": own}
    )
    colleagues = set(own)
    for member_a, member_b in rows.all():
        if member_a in shortlisted and member_b in colleagues:
            mutual[member_a] = mutual.get(member_a, 0) + 1
        if member_b in shortlisted and member_a in colleagues:
            mutual[member_b] = mutual.get(member_b, 0) + 1
    return mutual
