"""Converse: the conversations a member should pick up, and something to say.

Two kinds are worth continuing: someone reached out and the member has not answered since (the
ball is in their court), and a colleague they have talked with before who has gone quiet (one
more exchange in a new week moves toward a relationship). Both are read from the member's own
rows through indexes, newest first, so the answer is quick in any server.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, union_all

from bot.db import ActivityEvent, ConversationWeek, Database, Member, utcnow
from bot.habits import EventKind

# A reply older than this is history, not a conversation waiting for an answer.
WAITING_WITHIN = timedelta(days=14)
# A colleague last heard from within this window, but not in the last week, is worth a check-in.
QUIET_AFTER = timedelta(days=7)
QUIET_WITHIN = timedelta(days=45)
MAX_ITEMS = 5
_SCAN = 200

_TALKING = (EventKind.REPLY.value, EventKind.THREAD_MESSAGE.value)


class FollowUpKind(enum.StrEnum):
    # They replied to the member, who has not answered them since.
    WAITING = "waiting"
    # They talked before, in at least one conversation; nothing for a while.
    GONE_QUIET = "gone_quiet"


@dataclass(frozen=True, slots=True)
class FollowUp:
    kind: FollowUpKind
    partner_id: int
    partner_name: str
    at: datetime
    # The partner's last message to the member, for a jump link (None if it was deleted).
    channel_id: int | None
    message_id: int | None
    conversation_weeks: int


class ConverseService:
    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._database = database
        self._clock = clock

    async def worth_continuing(self, server_id: int, user_id: int) -> list[FollowUp]:
        """Up to five conversations to pick up, most recent first."""
        now = self._clock()
        async with self._database.read_rows() as session:
            inbound = (
                await session.execute(
                    select(
                        ActivityEvent.member_id,
                        ActivityEvent.occurred_at,
                        ActivityEvent.channel_id,
                        ActivityEvent.message_id,
                    )
                    .where(
                        ActivityEvent.server_id == server_id,
                        ActivityEvent.other_member_id == user_id,
                        ActivityEvent.occurred_at > now - QUIET_WITHIN,
                        ActivityEvent.kind.in_(_TALKING),
                        ActivityEvent.member_id != user_id,
                    )
                    .order_by(ActivityEvent.occurred_at.desc())
                    .limit(_SCAN)
                )
            ).all()
            latest: dict[int, tuple[datetime, int | None, int | None]] = {}
            for row in inbound:
                latest.setdefault(row.member_id, (row.occurred_at, row.channel_id, row.message_id))
            if not latest:
                return []
            partners = list(latest)
            answered = {
                row[0]: row[1]
                for row in await session.execute(
                    select(ActivityEvent.other_member_id, func.max(ActivityEvent.occurred_at))
                    .where(
                        ActivityEvent.server_id == server_id,
                        ActivityEvent.member_id == user_id,
                        ActivityEvent.other_member_id.in_(partners),
                        ActivityEvent.kind.in_(_TALKING),
                    )
                    .group_by(ActivityEvent.other_member_id)
                )
            }
            # One index search per side of the pair (an OR of the two scans the server's weeks).
            as_a = (
                select(ConversationWeek.member_b, func.count())
                .where(
                    ConversationWeek.server_id == server_id,
                    ConversationWeek.member_a == user_id,
                    ConversationWeek.member_b.in_(partners),
                )
                .group_by(ConversationWeek.member_b)
            )
            as_b = (
                select(ConversationWeek.member_a, func.count())
                .where(
                    ConversationWeek.server_id == server_id,
                    ConversationWeek.member_b == user_id,
                    ConversationWeek.member_a.in_(partners),
                )
                .group_by(ConversationWeek.member_a)
            )
            weeks: dict[int, int] = {
                row[0]: row[1] for row in await session.execute(union_all(as_a, as_b))
            }
            names: dict[int, str] = dict(
                (
                    await session.execute(
                        select(Member.user_id, Member.display_name).where(
                            Member.server_id == server_id,
                            Member.user_id.in_(partners),
                            Member.left_at.is_(None),
                        )
                    )
                ).all()
            )
        items: list[FollowUp] = []
        for partner_id, (at, channel_id, message_id) in latest.items():
            if partner_id not in names:  # left the server
                continue
            mine = answered.get(partner_id)
            talked = int(weeks.get(partner_id, 0))
            if (mine is None or mine < at) and now - at <= WAITING_WITHIN:
                kind = FollowUpKind.WAITING
            elif talked and now - max(at, mine or at) >= QUIET_AFTER:
                kind = FollowUpKind.GONE_QUIET
            else:
                continue
            items.append(
                FollowUp(kind, partner_id, names[partner_id], at, channel_id, message_id, talked)
            )
        items.sort(key=lambda item: (item.kind is not FollowUpKind.WAITING, -item.at.timestamp()))
        return items[:MAX_ITEMS]


# Openers for picking a conversation up, written for educators.
STARTERS = (
    "What's one thing that worked in your classroom this week that you'd do again?",
    "Which lesson are you planning next, and what's the part you're least sure about?",
    "What's a small routine that saves you time every week?",
    "What did a student say or do lately that changed how you teach something?",
    "If you could swap one assessment for a better one, which would it be?",
    "What are you reading or listening to for your teaching right now?",
    "Which unit do you wish you had more resources for?",
    "How do you give feedback when you have 30 pieces of work to return?",
    "What's a mistake you made early in your career that you'd warn a new colleague about?",
    "Is there a tool or idea you've tried this term that surprised you?",
    "How do you start a class so that everyone is with you in the first five minutes?",
    "What would you try next term if you had an extra hour each week?",
)


def conversation_starter(user_id: int, day: datetime) -> str:
    """One starter a day per member: the same all day, a different one tomorrow."""
    key = f"{user_id}:{day.date().isoformat()}".encode()
    index = int.from_bytes(hashlib.sha256(key).digest()[:4], "big") % len(STARTERS)
    return STARTERS[index]
