"""Progress: each member's level in the four habits, derived from the activity ledger.

Only the member's own rows are read, through the (server, member, kind, time) index and the
conversation weeks' indexes, so the answer takes the same few milliseconds in a server with ten
events or ten million.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import BindParameter, bindparam, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import ActivityEvent, Ask, AskAnswer, ConversationWeek, Database, Resource, utcnow
from bot.db.statements import table_of
from bot.habits import HABIT_ORDER, INTERACTION_KINDS, EventKind, Habit, Level
from bot.services.conversations import week_of
from bot.services.thresholds import DEFAULTS, LevelThresholds, Thresholds, ThresholdService

WEEK = timedelta(days=7)
HABIT_WINDOW_WEEKS = 4

# Shares, and answers to colleagues' asks.
CONTRIBUTION_KINDS = (EventKind.SHARE, EventKind.ANSWER)
# Signs a resource was used by others (a reaction counts only on the resource's card).
USE_KINDS = (EventKind.MARKED_USEFUL, EventKind.RESHARE, EventKind.REACTION)


@dataclass(frozen=True, slots=True)
class HabitProgress:
    habit: Habit
    level: Level
    # Whether the bot can see this habit yet; untracked habits always read "not started".
    tracked: bool
    # What the bot has counted, in words ("4 shares · 1 found useful by others").
    summary: str
    # What would take the member to the next level, or None at the top.
    next_milestone: str | None
    # This calendar week's activity, in words ("2 colleagues reached"); for the progress card.
    this_week: str = ""


@dataclass(frozen=True, slots=True)
class MemberProgress:
    server_id: int
    user_id: int
    habits: tuple[HabitProgress, ...]

    def of(self, habit: Habit) -> HabitProgress:
        return next(item for item in self.habits if item.habit is habit)


def active_weeks(times: list[datetime], now: datetime, weeks: int = HABIT_WINDOW_WEEKS) -> int:
    """In how many of the last ``weeks`` seven-day windows (ending now) something happened."""
    buckets = {int((now - moment) / WEEK) for moment in times if now - moment >= timedelta(0)}
    return len({bucket for bucket in buckets if bucket < weeks})


def _week_start(now: datetime) -> datetime:
    """Monday 00:00 UTC of ``now``'s week: "this week" on the progress card."""
    return datetime.combine(week_of(now), time(), tzinfo=UTC)


def _level(started: bool, practicing: bool, habit: bool) -> Level:
    """The highest level whose condition holds."""
    if habit:
        return Level.HABIT
    if practicing:
        return Level.PRACTICING
    return Level.STARTED if started else Level.NOT_STARTED


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def contribute_progress(
    shares: int,
    used: int,
    weeks_active: int,
    shares_this_week: int = 0,
    answers: int = 0,
    levels: LevelThresholds = DEFAULTS[Habit.CONTRIBUTE],
) -> HabitProgress:
    """Apply the server's Contribute thresholds (the product model's by default).

    Answers to colleagues' asks count like shares; an answer marked helpful counts as used.
    """
    contributions = shares + answers
    practicing = contributions >= levels.practicing and used >= 1
    level = _level(
        contributions >= levels.started, practicing, practicing and weeks_active >= levels.habit
    )

    summary = "Nothing shared yet."
    if contributions:
        done = _plural(shares, "share") + (f" · {_plural(answers, 'answer')}" if answers else "")
        summary = (
            f"{done} · {used} found useful by others · "
            f"active {weeks_active} of the last {HABIT_WINDOW_WEEKS} weeks"
        )
    shares = contributions

    milestone: str | None
    if level is Level.NOT_STARTED:
        milestone = "Share one link, lesson plan or tip with `/share`."
    elif level is Level.STARTED:
        needs = []
        if shares < levels.practicing:
            needs.append(f"share {levels.practicing - shares} more")
        if used < 1:
            needs.append("have one of your shares marked useful by a colleague")
        milestone = " and ".join(needs).capitalize() + " to reach Practicing."
    elif level is Level.PRACTICING:
        missing = levels.habit - weeks_active
        milestone = (
            f"Share in {levels.habit} of the last {HABIT_WINDOW_WEEKS} weeks to make it "
            f"a habit ({_plural(missing, 'more week')} to go)."
        )
    else:
        milestone = None
    week = f"{_plural(shares_this_week, 'contribution')} this week" if shares_this_week else ""
    return HabitProgress(Habit.CONTRIBUTE, level, True, summary, milestone, week or "Nothing yet")


def request_progress(
    asks: int,
    answered: int,
    helpful: int,
    asks_this_week: int = 0,
    levels: LevelThresholds = DEFAULTS[Habit.REQUEST],
) -> HabitProgress:
    """By default Started: an ask; Practicing: one answered by someone else; Habit: 3 asks
    answered and marked helpful."""
    level = _level(asks >= levels.started, answered >= levels.practicing, helpful >= levels.habit)
    summary = "No question asked yet."
    if asks:
        summary = (
            f"{_plural(asks, 'question')} asked · {answered} answered by colleagues · "
            f"{helpful} with an answer you marked helpful"
        )
    milestone: str | None
    if level is Level.NOT_STARTED:
        milestone = "Ask the network a real question from your classroom with `/ask`."
    elif level is Level.STARTED:
        milestone = "Get a first answer: tag your `/ask` so the colleagues who know hear of it."
    elif level is Level.PRACTICING:
        more = levels.habit - helpful
        milestone = (
            "Mark the answers that help (right-click → Apps → Mark as helpful): "
            f"{_plural(more, 'more question')} with a helpful answer make it a habit."
        )
    else:
        milestone = None
    week = f"{_plural(asks_this_week, 'question')} asked" if asks_this_week else "Nothing yet"
    return HabitProgress(Habit.REQUEST, level, True, summary, milestone, week)


def connect_progress(
    people: int,
    weeks_active: int,
    people_this_week: int = 0,
    levels: LevelThresholds = DEFAULTS[Habit.CONNECT],
) -> HabitProgress:
    """Connect: people reached (replies, reactions, turns in threads), and in how many weeks."""
    practicing = people >= levels.practicing
    level = _level(
        people >= levels.started, practicing, practicing and weeks_active >= levels.habit
    )
    summary = "Nobody reached yet."
    if people:
        summary = (
            f"{_plural(people, 'colleague')} reached · active {weeks_active} of the last "
            f"{HABIT_WINDOW_WEEKS} weeks"
        )
    milestone: str | None
    if level is Level.NOT_STARTED:
        milestone = "Reply to or react to a colleague's message."
    elif level is Level.STARTED:
        milestone = (
            f"Reach {levels.practicing - people} more "
            f"{'colleague' if levels.practicing - people == 1 else 'colleagues'} to reach "
            "Practicing."
        )
    elif level is Level.PRACTICING:
        missing = levels.habit - weeks_active
        milestone = (
            f"Reach out in {levels.habit} of the last {HABIT_WINDOW_WEEKS} weeks to make "
            f"it a habit ({_plural(missing, 'more week')} to go)."
        )
    else:
        milestone = None
    week = f"{_plural(people_this_week, 'colleague')} reached" if people_this_week else ""
    return HabitProgress(Habit.CONNECT, level, True, summary, milestone, week or "Nothing yet")


def converse_progress(
    weeks_by_partner: dict[int, int],
    partners_this_week: int = 0,
    levels: LevelThresholds = DEFAULTS[Habit.CONVERSE],
) -> HabitProgress:
    """Converse: conversations per partner and week; a relationship is 3 weeks with one partner."""
    conversations = sum(weeks_by_partner.values())
    partners = len(weeks_by_partner)
    longest = max(weeks_by_partner.values(), default=0)
    # A relationship is the habit, even before three partners.
    level = _level(
        conversations >= levels.started, partners >= levels.practicing, longest >= levels.habit
    )
    summary = "No conversation yet."
    if conversations:
        summary = (
            f"{_plural(conversations, 'conversation')} with {_plural(partners, 'colleague')} · "
            f"longest: {_plural(longest, 'week')} with the same colleague"
        )
    milestone: str | None
    if level is Level.NOT_STARTED:
        milestone = "Answer someone who replied to you, within three days."
    elif level is Level.STARTED:
        more = max(levels.practicing - partners, 1)
        milestone = (
            f"Have a conversation with {more} more {'colleague' if more == 1 else 'colleagues'}"
            f" (or talk with one in {levels.habit} different weeks) to go further."
        )
    elif level is Level.PRACTICING:
        milestone = (
            f"Keep talking with one colleague: conversations in {levels.habit} different "
            "weeks make a relationship, and the habit."
        )
    else:
        milestone = None
    week = (
        f"Conversations with {_plural(partners_this_week, 'colleague')}"
        if partners_this_week
        else ""
    )
    return HabitProgress(Habit.CONVERSE, level, True, summary, milestone, week or "Nothing yet")


# Habits the bot cannot see yet, with what to say about them (none, now).
_NOT_TRACKED_YET: dict[Habit, str] = {}


# The queries, built once (see bot.db.statements); parameters: server_id, user_id, and a time.
_EVENTS = table_of(ActivityEvent)
_WEEKS = table_of(ConversationWeek)
_ASKS_TABLE = table_of(Ask)
_ANSWERS = table_of(AskAnswer)
_RESOURCES = table_of(Resource)
_SERVER: BindParameter[int] = bindparam("server_id")
_USER: BindParameter[int] = bindparam("user_id")
_MEMBER_EVENTS = (_EVENTS.c.server_id == _SERVER) & (_EVENTS.c.member_id == _USER)
_REACHES = _MEMBER_EVENTS & _EVENTS.c.kind.in_([kind.value for kind in INTERACTION_KINDS])
_PEOPLE_REACHED = select(func.count(func.distinct(_EVENTS.c.other_member_id))).where(
    _REACHES & _EVENTS.c.other_member_id.is_not(None)
)
_RECENT_REACHES = select(_EVENTS.c.occurred_at, _EVENTS.c.other_member_id).where(
    _REACHES, _EVENTS.c.occurred_at > bindparam("since")
)
# The member is member_a of pairs with larger ids and member_b of the others: one index search
# each (an OR of the two would scan the server's weeks).
_CONVERSATION_WEEKS = union_all(
    select(_WEEKS.c.member_b, func.count(), func.max(_WEEKS.c.week))
    .where(_WEEKS.c.server_id == _SERVER, _WEEKS.c.member_a == _USER)
    .group_by(_WEEKS.c.member_b),
    select(_WEEKS.c.member_a, func.count(), func.max(_WEEKS.c.week))
    .where(_WEEKS.c.server_id == _SERVER, _WEEKS.c.member_b == _USER)
    .group_by(_WEEKS.c.member_a),
)
_MY_ASKS = (_ASKS_TABLE.c.server_id == _SERVER) & (_ASKS_TABLE.c.asker_id == _USER)
_ASKS = select(
    func.count(),
    func.count(_ASKS_TABLE.c.first_answer_at),
    func.count().filter(_ASKS_TABLE.c.created_at >= bindparam("monday")),
).where(_MY_ASKS)
_ASKS_HELPED = (
    select(func.count(func.distinct(_ANSWERS.c.ask_id)))
    .join(_ASKS_TABLE, _ASKS_TABLE.c.id == _ANSWERS.c.ask_id)
    .where(_MY_ASKS, _ANSWERS.c.helpful_at.is_not(None))
)
_CONTRIBUTED = _MEMBER_EVENTS & _EVENTS.c.kind.in_([kind.value for kind in CONTRIBUTION_KINDS])
_CONTRIBUTIONS = select(_EVENTS.c.kind, func.count()).where(_CONTRIBUTED).group_by(_EVENTS.c.kind)
_RECENT_CONTRIBUTIONS = select(_EVENTS.c.occurred_at).where(
    _CONTRIBUTED, _EVENTS.c.occurred_at > bindparam("since")
)
_MY_ANSWERS = (_ANSWERS.c.server_id == _SERVER) & (_ANSWERS.c.answerer_id == _USER)
_QUESTIONS_ANSWERED = select(func.count(func.distinct(_ANSWERS.c.ask_id))).where(_MY_ANSWERS)
_ANSWERS_HELPFUL = select(func.count(func.distinct(_ANSWERS.c.ask_id))).where(
    _MY_ANSWERS, _ANSWERS.c.helpful_at.is_not(None)
)
_SHARES_USED = (
    select(func.count(func.distinct(_EVENTS.c.resource_id)))
    .join(_RESOURCES, _RESOURCES.c.id == _EVENTS.c.resource_id)
    .where(
        _RESOURCES.c.server_id == _SERVER,
        _RESOURCES.c.shared_by == _USER,
        _EVENTS.c.kind.in_([kind.value for kind in USE_KINDS]),
        _EVENTS.c.member_id != _USER,
    )
)


class ProgressService:
    """Each member's level in the four habits, computed from the ledger on request."""

    def __init__(
        self,
        database: Database,
        clock: Callable[[], datetime] = utcnow,
        thresholds: ThresholdService | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self._thresholds = thresholds

    async def progress(self, server_id: int, user_id: int) -> MemberProgress:
        now = self._clock()
        chosen = (
            await self._thresholds.thresholds(server_id)
            if self._thresholds is not None
            else Thresholds.defaults()
        )
        async with self._database.read() as session:
            tracked = {
                Habit.CONNECT: await self._connect(
                    session, server_id, user_id, now, chosen.of(Habit.CONNECT)
                ),
                Habit.CONTRIBUTE: await self._contribute(
                    session, server_id, user_id, now, chosen.of(Habit.CONTRIBUTE)
                ),
                Habit.CONVERSE: await self._converse(
                    session, server_id, user_id, now, chosen.of(Habit.CONVERSE)
                ),
                Habit.REQUEST: await self._request(
                    session, server_id, user_id, now, chosen.of(Habit.REQUEST)
                ),
            }
        habits = tuple(
            tracked.get(habit)
            or HabitProgress(
                habit, Level.NOT_STARTED, False, _NOT_TRACKED_YET[habit], None, "Coming soon"
            )
            for habit in HABIT_ORDER
        )
        return MemberProgress(server_id, user_id, habits)

    @staticmethod
    async def _connect(
        session: AsyncSession,
        server_id: int,
        user_id: int,
        now: datetime,
        levels: LevelThresholds,
    ) -> HabitProgress:
        member = {"server_id": server_id, "user_id": user_id}
        people = await session.scalar(_PEOPLE_REACHED, member) or 0
        # Nobody reached is filtered here, not in SQL: a range on other_member_id would lead the
        # planner to the (member, other) index and every event the member ever had.
        since = now - HABIT_WINDOW_WEEKS * WEEK
        recent = [
            row
            for row in await session.execute(_RECENT_REACHES, {**member, "since": since})
            if row.other_member_id is not None
        ]
        monday = _week_start(now)
        this_week = len({row.other_member_id for row in recent if row.occurred_at >= monday})
        return connect_progress(
            people, active_weeks([row.occurred_at for row in recent], now), this_week, levels
        )

    @staticmethod
    async def _converse(
        session: AsyncSession,
        server_id: int,
        user_id: int,
        now: datetime,
        levels: LevelThresholds,
    ) -> HabitProgress:
        rows = (
            await session.execute(_CONVERSATION_WEEKS, {"server_id": server_id, "user_id": user_id})
        ).all()
        this_week = week_of(now)
        return converse_progress(
            {row[0]: row[1] for row in rows},
            sum(1 for row in rows if row[2] == this_week),
            levels,
        )

    @staticmethod
    async def _request(
        session: AsyncSession,
        server_id: int,
        user_id: int,
        now: datetime,
        levels: LevelThresholds,
    ) -> HabitProgress:
        member = {"server_id": server_id, "user_id": user_id}
        asks, answered, this_week = (
            await session.execute(_ASKS, {**member, "monday": _week_start(now)})
        ).one()
        helpful = 0
        if answered:
            helpful = await session.scalar(_ASKS_HELPED, member) or 0
        return request_progress(asks, answered, helpful, this_week, levels)

    @staticmethod
    async def _contribute(
        session: AsyncSession,
        server_id: int,
        user_id: int,
        now: datetime,
        levels: LevelThresholds,
    ) -> HabitProgress:
        member = {"server_id": server_id, "user_id": user_id}
        by_kind = {row[0]: row[1] for row in await session.execute(_CONTRIBUTIONS, member)}
        shares = by_kind.get(EventKind.SHARE.value, 0)
        answers = 0
        if by_kind.get(EventKind.ANSWER.value, 0):
            # Questions answered, not messages: five messages in one thread are one answer, so
            # chatting in a colleague's thread can't make a habit out of one question.
            answers = await session.scalar(_QUESTIONS_ANSWERED, member) or 0
        since = now - HABIT_WINDOW_WEEKS * WEEK
        recent = (await session.scalars(_RECENT_CONTRIBUTIONS, {**member, "since": since})).all()
        used = 0
        if answers:  # a question whose asker marked one of the member's answers helpful
            used = await session.scalar(_ANSWERS_HELPFUL, member) or 0
        if shares:
            used += await session.scalar(_SHARES_USED, member) or 0
        monday = _week_start(now)
        shared_this_week = sum(1 for moment in recent if moment >= monday)
        return contribute_progress(
            shares, used, active_weeks(list(recent), now), shared_this_week, answers, levels
        )
