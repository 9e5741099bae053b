"""Tuning aids for ``bench.coaching_quality``: other ways to route asks and suggest colleagues.

Each is measured on the same replay as the real services, at the same moments (an ask's time,
the cutoff), reading the same replayed database; none is ever reported as the services' figure.
They exist to choose weights for ``bot/services/routing.py`` and to propose a change to
``bot/services/suggestions.py`` with its measured effect.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import ActivityEvent, AskAnswer, Database, Member, Tie
from bot.habits import EventKind
from bot.services.candidate_pool import TAKING_PART

SERVER = 1
TOP = 3
ACTIVE_WITHIN = timedelta(days=90)


def _top(scores: dict[int, float], skip: set[int], seen: dict[int, datetime]) -> list[int]:
    ranked = sorted(
        (m for m in scores if m not in skip and m in seen and scores[m] > 0),
        key=lambda m: (-scores[m], -seen[m].timestamp(), m),
    )
    return ranked[:TOP]


async def route_variants(session: AsyncSession, asker: int, now: datetime) -> dict[str, list[int]]:
    """Helpers each variant would name for ``asker`` at ``now``."""
    rows = (
        await session.execute(
            select(AskAnswer.answerer_id, AskAnswer.answered_at, AskAnswer.ask_id).where(
                AskAnswer.server_id == SERVER, AskAnswer.answered_at > now - timedelta(days=60)
            )
        )
    ).all()
    messages = (
        await session.execute(
            select(ActivityEvent.member_id, func.count())
            .where(
                ActivityEvent.server_id == SERVER,
                ActivityEvent.kind == EventKind.THREAD_MESSAGE.value,
                ActivityEvent.occurred_at > now - timedelta(days=7),
            )
            .group_by(ActivityEvent.member_id)
        )
    ).all()
    seen = {
        row.user_id: row.last_seen_at
        for row in await session.execute(
            select(Member.user_id, Member.last_seen_at).where(
                Member.server_id == SERVER, Member.last_seen_at > now - ACTIVE_WITHIN
            )
        )
    }
    ties = {
        row.member_b if row.member_a == asker else row.member_a
        for row in await session.execute(
            select(Tie.member_a, Tie.member_b).where(
                Tie.server_id == SERVER, or_(Tie.member_a == asker, Tie.member_b == asker)
            )
        )
    }
    skip = {asker}
    count: dict[int, Counter[int]] = {days: Counter() for days in (3, 7, 14, 30, 60)}
    decay: dict[float, defaultdict[int, float]] = {h: defaultdict(float) for h in (2, 4, 7, 14)}
    asks_answered: defaultdict[int, set[int]] = defaultdict(set)
    for member, at, ask in rows:
        age = (now - at) / timedelta(days=1)
        for days, counter in count.items():
            if age < days:
                counter[member] += 1
        for half, acc in decay.items():
            acc[member] += 0.5 ** (age / half)
        if age < 14:
            asks_answered[member].add(ask)
    found: dict[str, list[int]] = {}
    for days, counter in count.items():
        found[f"answers {days}d"] = _top(dict(counter), skip, seen)
    for half, acc in decay.items():
        found[f"decay {half}d"] = _top(dict(acc), skip, seen)
        found[f"decay {half}d + tie"] = _top(
            {m: v + (1.0 if m in ties else 0.0) for m, v in acc.items()}, skip, seen
        )
        found[f"log decay {half}d + tie"] = _top(
            {m: math.log2(1 + v) + (1.0 if m in ties else 0.0) for m, v in acc.items()},
            skip,
            seen,
        )
    found["asks 14d"] = _top({m: len(a) for m, a in asks_answered.items()}, skip, seen)
    found["messages 7d"] = _top(dict(messages), skip, seen)
    found["last seen"] = sorted(
        (m for m in seen if m not in skip), key=lambda m: (-seen[m].timestamp(), m)
    )[:TOP]
    return found


async def connect_variants(
    database: Database, members: Sequence[int], at: datetime
) -> dict[str, dict[int, list[int]]]:
    """Colleagues each variant would suggest to each member as of ``at``.

    "today" mirrors an early ``SuggestionService`` without interests (the data has none): the 200
    members seen last, +4 untied / -6 tied, -1 per mutual colleague (up to 5), +3 seen within
    7 days (+1.5 within 30). The "proposal" variants replace the seen-lately bonus with how
    much the candidate did lately (log2 of 1 + their ledger events in the last 60 days), and
    soften the weak-tie preference to a nudge. "current" mirrors the service as it is now: log2
    of 1 + the last 30 days' events (at most 128), untied +0.5, and colleagues in common as a
    way in (+0.5 * log2(1 + mutual), at most 5), all in units of that log.
    """
    async with database.read() as session:
        seen = {
            row.user_id: row.last_seen_at
            for row in await session.execute(
                select(Member.user_id, Member.last_seen_at).where(
                    Member.server_id == SERVER,
                    Member.left_at.is_(None),
                    Member.last_seen_at > at - ACTIVE_WITHIN,
                )
            )
        }
        tie_rows = (
            await session.execute(select(Tie.member_a, Tie.member_b).where(Tie.server_id == SERVER))
        ).all()
        done = {
            row[0]: row[1]
            for row in await session.execute(
                select(ActivityEvent.member_id, func.count())
                .where(
                    ActivityEvent.server_id == SERVER,
                    ActivityEvent.occurred_at > at - timedelta(days=60),
                    ActivityEvent.occurred_at <= at,
                )
                .group_by(ActivityEvent.member_id)
            )
        }
        done_30 = {
            row[0]: row[1]
            for row in await session.execute(
                select(ActivityEvent.member_id, func.count())
                .where(
                    ActivityEvent.server_id == SERVER,
                    ActivityEvent.kind.in_(TAKING_PART),
                    ActivityEvent.occurred_at > at - timedelta(days=30),
                    ActivityEvent.occurred_at <= at,
                )
                .group_by(ActivityEvent.member_id)
            )
        }
    ties: defaultdict[int, set[int]] = defaultdict(set)
    for a, b in tie_rows:
        ties[a].add(b)
        ties[b].add(a)
    by_seen = sorted(seen, key=lambda m: (-seen[m].timestamp(), m))
    out: dict[str, dict[int, list[int]]] = defaultdict(dict)

    def rank(pool: Sequence[int], scores: dict[int, float]) -> list[int]:
        return sorted(pool, key=lambda m: (-scores[m], -seen[m].timestamp(), m))[:TOP]

    def quiet_bonus(m: int) -> float:
        days = (at - seen[m]) / timedelta(days=1)
        return 3.0 if days < 7 else 1.5 if days < 30 else 0.0

    lately = {m: math.log2(1 + done.get(m, 0)) for m in seen}
    month = {m: math.log2(1 + min(done_30.get(m, 0), 128)) for m in seen}
    for member in members:
        mine = ties.get(member, set())
        pool = [m for m in by_seen if m != member][:200]
        tied = {m: m in mine for m in pool}
        mutual = {m: min(len(mine & ties.get(m, set())), 5) for m in pool}
        variants = {
            "today": {m: (-6.0 if tied[m] else 4.0) - mutual[m] + quiet_bonus(m) for m in pool},
            "proposal: 2*lately, untied +1, -0.5/mutual": {
                m: 2.0 * lately[m] + (not tied[m]) - 0.5 * mutual[m] for m in pool
            },
            "proposal: 2*lately, untied +1": {m: 2.0 * lately[m] + (not tied[m]) for m in pool},
            "proposal: 2*lately, untied only": {m: 2.0 * lately[m] - 100.0 * tied[m] for m in pool},
            "2*lately (no tie term)": {m: lately[m] for m in pool},
            "current": {
                m: month[m] + 0.5 * (not tied[m]) + 0.5 * math.log2(1 + mutual[m]) for m in pool
            },
            "today's weights + 2*lately": {
                m: (-6.0 if tied[m] else 4.0) - mutual[m] + quiet_bonus(m) + 2.0 * lately[m]
                for m in pool
            },
        }
        for name, scores in variants.items():
            out[name][member] = rank(pool, scores)
    return out
