"""When each server's weekly challenge and recap go out, as admins set it.

The row is the truth: ``next_run_at`` (UTC) is recomputed from the weekday, local time and zone
whenever the schedule changes, and advanced by the transaction that decides each week's post.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database, Server, WeeklySchedule, utcnow
from bot.db.upsert import dialect_insert
from bot.scheduling.clock import Clock
from bot.scheduling.weekly import WeeklyTime, spread
from bot.services.answers import AnswerTicket, OwedAnswer, PendingAnswers
from bot.services.members import Actor, touch_actor


class PostKind(enum.StrEnum):
    """The two weekly posts; also their outbox kinds."""

    CHALLENGE = "challenge"
    RECAP = "recap"


class Selection(enum.StrEnum):
    """How the week's challenge is picked."""

    ROTATE = "rotate"  # Connect, Contribute, Converse, Request, Connect, ...
    WEAKEST = "weakest"  # the habit the fewest active members practised lately


def next_run(weekly: WeeklyTime, server_id: int, *, after: datetime) -> datetime:
    """The next occurrence after ``after``, plus the server's spread of a few seconds.

    Stored with the spread, so "due" is one comparison in SQL and a fan-out takes servers in
    the order they fall due.
    """
    return weekly.next_after(after) + spread(server_id)


@dataclass(frozen=True, slots=True)
class Schedule:
    server_id: int
    kind: PostKind
    channel_id: int
    weekly: WeeklyTime
    next_run_at: datetime
    follows_challenge: bool


def weekly_time_of(row: WeeklySchedule) -> WeeklyTime:
    hour, minute = (int(part) for part in row.local_time.split(":"))
    return WeeklyTime(row.weekday, time(hour, minute), row.zone)


def schedule_of(row: WeeklySchedule) -> Schedule:
    return Schedule(
        server_id=row.server_id,
        kind=PostKind(row.kind),
        channel_id=row.channel_id,
        weekly=weekly_time_of(row),
        next_run_at=row.next_run_at,
        follows_challenge=row.follows_challenge,
    )


async def put_schedule(
    session: AsyncSession,
    server_id: int,
    kind: PostKind,
    channel_id: int,
    weekly: WeeklyTime,
    now: datetime,
    *,
    follows_challenge: bool,
) -> None:
    values = {
        "channel_id": channel_id,
        "weekday": weekly.weekday,
        "local_time": f"{weekly.at:%H:%M}",
        "zone": weekly.zone,
        "next_run_at": next_run(weekly, server_id, after=now),
        "follows_challenge": follows_challenge,
        "updated_at": now,
    }
    insert = dialect_insert(session, WeeklySchedule).values(
        server_id=server_id, kind=kind.value, **values
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=[WeeklySchedule.server_id, WeeklySchedule.kind], set_=values
        )
    )


class ScheduleService:
    def __init__(self, database: Database, clock: Clock = utcnow) -> None:
        self._database = database
        self._clock = clock

    async def set_schedule(
        self,
        actor: Actor,
        kind: PostKind,
        channel_id: int,
        weekly: WeeklyTime,
        *,
        answer: AnswerTicket,
    ) -> OwedAnswer:
        """Post ``kind`` every week at ``weekly`` in ``channel_id``, from the next occurrence.

        Setting the challenge also moves a recap nobody scheduled: the day before, same time.
        """
        now = self._clock()
        server_id = actor.server_id
        async with self._database.write() as session:
            await touch_actor(session, actor, now)
            await put_schedule(
                session, server_id, kind, channel_id, weekly, now, follows_challenge=False
            )
            if kind is PostKind.CHALLENGE:
                recap = await session.get(WeeklySchedule, (server_id, PostKind.RECAP.value))
                if recap is None or recap.follows_challenge:
                    await put_schedule(
                        session,
                        server_id,
                        PostKind.RECAP,
                        channel_id,
                        weekly.day_before(),
                        now,
                        follows_challenge=True,
                    )
            return await PendingAnswers.store(
                session,
                server_id=server_id,
                member_id=actor.user_id,
                kind=f"{kind.value}_schedule",
                subject_id=channel_id,
                outcome="set",
                ticket=answer,
            )

    async def set_selection(self, actor: Actor, selection: Selection) -> None:
        async with self._database.write() as session:
            await touch_actor(session, actor, self._clock())
            server = await session.get(Server, actor.server_id)
            assert server is not None
            server.challenge_selection = selection.value

    async def schedules(self, server_id: int) -> dict[PostKind, Schedule]:
        async with self._database.read() as session:
            rows = (
                await session.scalars(
                    select(WeeklySchedule).where(WeeklySchedule.server_id == server_id)
                )
            ).all()
            return {PostKind(row.kind): schedule_of(row) for row in rows}

    async def selection(self, server_id: int) -> Selection:
        async with self._database.read() as session:
            value = await session.scalar(
                select(Server.challenge_selection).where(Server.id == server_id)
            )
        return Selection(value or Selection.ROTATE.value)
