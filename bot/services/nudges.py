"""Members' choices (DM nudges, shout-outs) and the one-DM-a-day rule for nudges.

Nudges are off until a member asks for them. Before a DM is sent its row is inserted for the
member and the day: a second nudge that day, from another process or a retry, finds the row and
is not sent. A member whose DMs are closed is switched off, and told nothing more.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, select, update

from bot.db import Ask, AskHelper, Database, Member, MemberPreferences, NudgeSent, utcnow
from bot.db.upsert import dialect_insert
from bot.scheduling.clock import Clock
from bot.services.members import Actor, touch_actor

UNANSWERED_AFTER = timedelta(hours=48)
# Asks older than this are not nudged about any more (the asker has moved on).
UNANSWERED_UNTIL = timedelta(days=7)
KEEP_SENT = timedelta(days=30)
DMS_CLOSED = "dms_closed"


class NudgeKind(enum.StrEnum):
    DIGEST = "digest"  # subject: the challenge week's row
    UNANSWERED_ASK = "unanswered_ask"  # subject: the ask


@dataclass(frozen=True, slots=True)
class Preferences:
    nudges: bool
    shoutouts: bool
    nudges_stopped: str | None


@dataclass(frozen=True, slots=True)
class UnansweredAsk:
    server_id: int
    ask_id: int
    asker_id: int
    question: str
    created_at: datetime


class NudgeService:
    def __init__(self, database: Database, clock: Clock = utcnow) -> None:
        self._database = database
        self._clock = clock

    async def preferences(self, server_id: int, user_id: int) -> Preferences:
        async with self._database.read() as session:
            row = await session.get(MemberPreferences, (server_id, user_id))
        if row is None:
            return Preferences(nudges=False, shoutouts=True, nudges_stopped=None)
        return Preferences(row.nudges, row.shoutouts, row.nudges_stopped)

    async def choose(
        self, actor: Actor, *, nudges: bool | None = None, shoutouts: bool | None = None
    ) -> Preferences:
        now = self._clock()
        async with self._database.write() as session:
            await touch_actor(session, actor, now)
            row = await session.get(MemberPreferences, (actor.server_id, actor.user_id))
            if row is None:
                row = MemberPreferences(
                    server_id=actor.server_id,
                    user_id=actor.user_id,
                    nudges=False,
                    shoutouts=True,
                    updated_at=now,
                )
                session.add(row)
            if nudges is not None:
                row.nudges = nudges
                row.nudges_stopped = None
            if shoutouts is not None:
                row.shoutouts = shoutouts
            row.updated_at = now
            return Preferences(row.nudges, row.shoutouts, row.nudges_stopped)

    async def servers_with_subscribers(self, server_ids: list[int]) -> list[int]:
        """Of these servers, those where someone wants nudges (usually few)."""
        found: list[int] = []
        async with self._database.read() as session:
            for start in range(0, len(server_ids), 500):
                found += (
                    await session.scalars(
                        select(MemberPreferences.server_id)
                        .where(
                            MemberPreferences.server_id.in_(server_ids[start : start + 500]),
                            MemberPreferences.nudges.is_(True),
                        )
                        .distinct()
                    )
                ).all()
        return found

    async def subscribers(self, server_id: int) -> list[int]:
        async with self._database.read() as session:
            return list(
                (
                    await session.scalars(
                        select(MemberPreferences.user_id).where(
                            MemberPreferences.server_id == server_id,
                            MemberPreferences.nudges.is_(True),
                        )
                    )
                ).all()
            )

    async def unanswered_asks(self, server_ids: list[int] | None = None) -> list[UnansweredAsk]:
        """Asks 48 h old with no answer, whose asker wants nudges and was not told yet."""
        now = self._clock()
        told = exists().where(
            NudgeSent.server_id == Ask.server_id,
            NudgeSent.kind == NudgeKind.UNANSWERED_ASK.value,
            NudgeSent.subject_id == Ask.id,
        )
        query = (
            select(Ask.server_id, Ask.id, Ask.asker_id, Ask.question, Ask.created_at)
            .join(
                MemberPreferences,
                and_(
                    MemberPreferences.server_id == Ask.server_id,
                    MemberPreferences.user_id == Ask.asker_id,
                ),
            )
            .where(
                MemberPreferences.nudges.is_(True),
                Ask.first_answer_at.is_(None),
                Ask.created_at <= now - UNANSWERED_AFTER,
                Ask.created_at > now - UNANSWERED_UNTIL,
                ~told,
            )
            .order_by(Ask.created_at)
            .limit(500)
        )
        if server_ids is not None:
            query = query.where(Ask.server_id.in_(server_ids))
        async with self._database.read() as session:
            rows = (await session.execute(query)).all()
        return [UnansweredAsk(*row) for row in rows]

    async def helper_names(self, server_id: int, ask_id: int) -> list[str]:
        """Who /ask named as likely to help, in its order (their names, for a DM)."""
        async with self._database.read() as session:
            return list(
                (
                    await session.scalars(
                        select(Member.display_name)
                        .join(
                            AskHelper,
                            and_(
                                AskHelper.server_id == Member.server_id,
                                AskHelper.member_id == Member.user_id,
                            ),
                        )
                        .where(AskHelper.ask_id == ask_id, Member.server_id == server_id)
                        .order_by(AskHelper.position)
                    )
                ).all()
            )

    async def claim(self, server_id: int, user_id: int, kind: NudgeKind, subject_id: int) -> bool:
        """May this nudge be sent now? At most one DM per member per day, each nudge once;
        none while the member paused tracking (a sent nudge is a row about them)."""
        now = self._clock()
        async with self._database.write() as session:
            wanted = await session.scalar(
                select(MemberPreferences.nudges).where(
                    MemberPreferences.server_id == server_id,
                    MemberPreferences.user_id == user_id,
                    MemberPreferences.paused_at.is_(None),
                )
            )
            if not wanted:
                return False
            sent_before = await session.scalar(
                select(
                    exists().where(
                        NudgeSent.server_id == server_id,
                        NudgeSent.user_id == user_id,
                        NudgeSent.kind == kind.value,
                        NudgeSent.subject_id == subject_id,
                    )
                )
            )
            if sent_before:
                return False
            inserted = await session.execute(
                dialect_insert(session, NudgeSent)
                .values(
                    server_id=server_id,
                    user_id=user_id,
                    day=now.date(),
                    kind=kind.value,
                    subject_id=subject_id,
                    sent_at=now,
                )
                .on_conflict_do_nothing()
                .returning(NudgeSent.user_id)
            )
            return inserted.scalar_one_or_none() is not None

    async def stop_for_closed_dms(self, user_id: int) -> int:
        """The member's DMs are closed: nudges off in every server (a DM is to the person)."""
        async with self._database.write() as session:
            result = await session.execute(
                update(MemberPreferences)
                .where(MemberPreferences.user_id == user_id, MemberPreferences.nudges.is_(True))
                .values(nudges=False, nudges_stopped=DMS_CLOSED, updated_at=self._clock())
            )
        return max(getattr(result, "rowcount", 0) or 0, 0)

    async def forget_old(self) -> None:
        """Only recent rows are needed to keep to one DM a day and to each nudge once."""
        async with self._database.write() as session:
            await session.execute(
                delete(NudgeSent).where(NudgeSent.sent_at < self._clock() - KEEP_SENT)
            )
