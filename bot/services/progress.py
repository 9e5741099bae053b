"""Progress: each member's level in the four habits, derived from the activity ledger.

Only the member's own rows are read, through the (server, member, kind, time) index and the
conversation weeks' indexes, so the answer takes the same few milliseconds in a server with ten
events or ten million.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Row,
    ScalarSelect,
    Select,
    String,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql

from bot.db import ActivityEvent, Ask, AskAnswer, ConversationWeek, Database, utcnow
from bot.db.prepared import Prepared
from bot.db.statements import InsertFactory, PerDialect, is_one_of_kinds, table_of
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
    return converse_progress_of(
        sum(weeks_by_partner.values()),
        len(weeks_by_partner),
        max(weeks_by_partner.values(), default=0),
        partners_this_week,
        levels,
    )


def converse_progress_of(
    conversations: int,
    partners: int,
    longest: int,
    partners_this_week: int = 0,
    levels: LevelThresholds = DEFAULTS[Habit.CONVERSE],
) -> HabitProgress:
    """``converse_progress`` from the sums: conversation weeks in all, partners, and the most
    weeks with one partner."""
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


# The query, built once (see bot.db.statements); parameters: server_id, user_id, monday,
# this_week (its Monday, a date) and window_0 ... window_4.
_EVENTS = table_of(ActivityEvent)
_WEEKS = table_of(ConversationWeek)
_ASKS_TABLE = table_of(Ask)
_ANSWERS = table_of(AskAnswer)
_SERVER: BindParameter[int] = bindparam("server_id")
_USER: BindParameter[int] = bindparam("user_id")
_MEMBER_EVENTS = (_EVENTS.c.server_id == _SERVER) & (_EVENTS.c.member_id == _USER)
_REACHES = _MEMBER_EVENTS & is_one_of_kinds(_EVENTS.c.kind, INTERACTION_KINDS)
_CONTRIBUTED = _MEMBER_EVENTS & is_one_of_kinds(_EVENTS.c.kind, CONTRIBUTION_KINDS)
_MY_ASKS = (_ASKS_TABLE.c.server_id == _SERVER) & (_ASKS_TABLE.c.asker_id == _USER)
_MY_ANSWERS = (_ANSWERS.c.server_id == _SERVER) & (_ANSWERS.c.answerer_id == _USER)
# The ends of the last HABIT_WINDOW_WEEKS seven-day windows: ``window_0`` is now, ``window_1`` a
# week ago, ...; the oldest is where the habit's window starts.
_WINDOW_ENDS: tuple[BindParameter[datetime], ...] = tuple(
    bindparam(f"window_{week}") for week in range(HABIT_WINDOW_WEEKS + 1)
)
_MONDAY: BindParameter[datetime] = bindparam("monday")


def _by_window(moment: ColumnElement[datetime], *also: ColumnElement[bool]) -> list[Any]:
    """How many rows fall in each of the last seven-day windows (the newest first): in how many
    weeks a member was active, counted by the database instead of sending every row back."""
    return [
        func.count().filter(moment > _WINDOW_ENDS[week + 1], moment <= _WINDOW_ENDS[week], *also)
        for week in range(HABIT_WINDOW_WEEKS)
    ]


_AnySelect = Select[*tuple[Any, ...]]
# Each part of the member's figures has a name, maybe a ``kind``, and up to six counts, in the
# columns n1 ... n6 in order (see _Figures.of for what each part's counts are).
_COUNT_COLUMNS = tuple(f"n{index}" for index in range(1, 7))
_REACHED = _EVENTS.c.other_member_id.is_not(None)


def _weeks_with_partners(me: Any, partner: Any) -> _AnySelect:
    """One side of the member's conversation weeks (the member is member_a of pairs with larger
    ids, member_b of the others; an OR of the two would scan the server's weeks), summed up:
    partners, conversations, the longest run with one partner, partners this week."""
    per_partner = (
        select(func.count().label("weeks"), func.max(_WEEKS.c.week).label("last"))
        .where(_WEEKS.c.server_id == _SERVER, me == _USER)
        .group_by(partner)
        .subquery()
    )
    return select(
        func.count(),
        cast(func.coalesce(func.sum(per_partner.c.weeks), 0), BigInteger),
        cast(func.coalesce(func.max(per_partner.c.weeks), 0), BigInteger),
        func.count().filter(per_partner.c.last == bindparam("this_week")),
    ).select_from(per_partner)


def _contributions_within(*bounds: ColumnElement[bool]) -> ScalarSelect[int]:
    """How many contributions the member made between ``bounds`` (times)."""
    return select(func.count()).where(_CONTRIBUTED, *bounds).scalar_subquery()


# The member's contributions this week and in each of the habit's windows. On SQLite one index
# range per count: filtered aggregates compared each contribution with every window's ends
# (75 µs for 150 shares in the habit's window; ranges, 40 µs). PostgreSQL's server spends more
# starting five subqueries than filtering the rows (make bench-services: 300 against 610 µs
# of its CPU per progress read), so there it stays one pass.
_CONTRIBUTED_BY_RANGES: _AnySelect = select(
    _contributions_within(_EVENTS.c.occurred_at >= _MONDAY),
    *(
        _contributions_within(
            _EVENTS.c.occurred_at > _WINDOW_ENDS[week + 1],
            _EVENTS.c.occurred_at <= _WINDOW_ENDS[week],
        )
        for week in range(HABIT_WINDOW_WEEKS)
    ),
)
_CONTRIBUTED_IN_ONE_PASS: _AnySelect = select(
    func.count().filter(_EVENTS.c.occurred_at >= _MONDAY),
    *_by_window(_EVENTS.c.occurred_at),
).where(_CONTRIBUTED, _EVENTS.c.occurred_at > _WINDOW_ENDS[-1])


_PARTS: tuple[tuple[str, _AnySelect], ...] = (
    (
        "reach",
        select(
            func.count(func.distinct(_EVENTS.c.other_member_id)).filter(_REACHED),
            func.count(func.distinct(_EVENTS.c.other_member_id)).filter(
                _REACHED, _EVENTS.c.occurred_at >= _MONDAY
            ),
            *_by_window(_EVENTS.c.occurred_at, _REACHED),
        ).where(_REACHES),
    ),
    ("weeks_as_a", _weeks_with_partners(_WEEKS.c.member_a, _WEEKS.c.member_b)),
    ("weeks_as_b", _weeks_with_partners(_WEEKS.c.member_b, _WEEKS.c.member_a)),
    (
        "asks",
        select(
            func.count(),
            func.count(_ASKS_TABLE.c.first_answer_at),
            func.count().filter(_ASKS_TABLE.c.created_at >= _MONDAY),
        ).where(_MY_ASKS),
    ),
    (
        "helped",
        select(func.count(func.distinct(_ANSWERS.c.ask_id)))
        .join(_ASKS_TABLE, _ASKS_TABLE.c.id == _ANSWERS.c.ask_id)
        .where(_MY_ASKS, _ANSWERS.c.helpful_at.is_not(None)),
    ),
    (
        "contributions",
        select(_EVENTS.c.kind.label("kind"), func.count())
        .where(_CONTRIBUTED)
        .group_by(_EVENTS.c.kind),
    ),
    ("contributed", _CONTRIBUTED_BY_RANGES),
    (
        "answered",
        select(
            func.count(func.distinct(_ANSWERS.c.ask_id)),
            func.count(func.distinct(_ANSWERS.c.ask_id)).filter(_ANSWERS.c.helpful_at.is_not(None)),
        ).where(_MY_ANSWERS),
    ),
    (
        # Every use of a resource (a Useful mark, a reshare, a reaction on its card) names its
        # sharer as other_member_id, so this reads the uses that reached the member, from one
        # index range. Joined from the member's resources it was a search per resource and use
        # kind: a third of the read for a member with 150 shares.
        "shares_used",
        select(func.count(func.distinct(_EVENTS.c.resource_id))).where(
            _EVENTS.c.server_id == _SERVER,
            _EVENTS.c.other_member_id == _USER,
            is_one_of_kinds(_EVENTS.c.kind, USE_KINDS),
            _EVENTS.c.resource_id.is_not(None),
            _EVENTS.c.member_id != _USER,
        ),
    ),
)


def _one_statement(parts: tuple[tuple[str, _AnySelect], ...]) -> CompoundSelect[Any]:
    """The member's figures as one statement, each part's rows tagged with its name.

    Seven statements made a progress read cost seven round trips through SQLAlchemy, several
    times what SQLite spends on the searches themselves; as parts of one UNION ALL each is
    still its own index search (``test_progress_query_plan``). Every part fills the count
    columns it has, in order, and leaves the others NULL; the first part gives the types.
    """
    selects = []
    for name, part in parts:
        given = list(part.selected_columns)
        kind = [column for column in given if column.key == "kind"]
        counts = [column for column in given if column.key != "kind"]
        columns = [
            kind[0] if kind else cast(null(), String()).label("kind"),
            *(
                (counts[index] if index < len(counts) else cast(null(), BigInteger())).label(key)
                for index, key in enumerate(_COUNT_COLUMNS)
            ),
        ]
        selects.append(
            part.with_only_columns(
                literal(name).label("part"), *columns, maintain_column_froms=True
            )
        )
    return union_all(*selects)


def _parts_for(insert: InsertFactory) -> tuple[tuple[str, _AnySelect], ...]:
    if insert is not postgresql.insert:
        return _PARTS
    return tuple(
        (name, _CONTRIBUTED_IN_ONE_PASS if name == "contributed" else part) for name, part in _PARTS
    )


_PROGRESS = Prepared(PerDialect(lambda insert: _one_statement(_parts_for(insert))))


@dataclass
class _Figures:
    """What the one progress statement found for a member."""

    people: int = 0
    people_this_week: int = 0
    # Activity in each of the last seven-day windows, the newest first.
    reaches_by_week: list[int] = field(default_factory=list)
    partners: int = 0
    conversations: int = 0
    longest: int = 0
    partners_this_week: int = 0
    asks: int = 0
    asks_answered: int = 0
    asks_this_week: int = 0
    asks_helped: int = 0
    contributions: dict[str, int] = field(default_factory=dict)
    contributed_this_week: int = 0
    contributed_by_week: list[int] = field(default_factory=list)
    questions_answered: int = 0
    answers_helpful: int = 0
    shares_used: int = 0

    @classmethod
    def of(cls, rows: Iterable[Row[Any]]) -> _Figures:
        found = cls()
        for row in rows:
            part = row.part
            n = [value or 0 for value in (row.n1, row.n2, row.n3, row.n4, row.n5, row.n6)]
            if part == "reach":
                found.people, found.people_this_week, *found.reaches_by_week = n
            elif part in ("weeks_as_a", "weeks_as_b"):
                found.partners += n[0]
                found.conversations += n[1]
                found.longest = max(found.longest, n[2])
                found.partners_this_week += n[3]
            elif part == "contributions":
                found.contributions[row.kind] = n[0]
            elif part == "contributed":
                found.contributed_this_week, *found.contributed_by_week = n[:5]
            elif part == "asks":
                found.asks, found.asks_answered, found.asks_this_week = n[:3]
            elif part == "helped":
                found.asks_helped = n[0]
            elif part == "answered":
                found.questions_answered, found.answers_helpful = n[:2]
            elif part == "shares_used":
                found.shares_used = n[0]
        return found


def _weeks_active(by_week: list[int]) -> int:
    return sum(1 for count in by_week if count)


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
        monday = _week_start(now)
        windows = {f"window_{week}": now - week * WEEK for week in range(HABIT_WINDOW_WEEKS + 1)}
        async with self._database.read_rows() as session:
            rows = await _PROGRESS.execute(
                session,
                {
                    "server_id": server_id,
                    "user_id": user_id,
                    "monday": monday,
                    "this_week": week_of(now),
                    **windows,
                },
            )
            figures = _Figures.of(rows.all())
        tracked = {
            Habit.CONNECT: connect_progress(
                figures.people,
                _weeks_active(figures.reaches_by_week),
                figures.people_this_week,
                chosen.of(Habit.CONNECT),
            ),
            Habit.CONTRIBUTE: _contribute(figures, chosen.of(Habit.CONTRIBUTE)),
            Habit.CONVERSE: converse_progress_of(
                figures.conversations,
                figures.partners,
                figures.longest,
                figures.partners_this_week,
                chosen.of(Habit.CONVERSE),
            ),
            Habit.REQUEST: request_progress(
                figures.asks,
                figures.asks_answered,
                figures.asks_helped if figures.asks_answered else 0,
                figures.asks_this_week,
                chosen.of(Habit.REQUEST),
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


def _contribute(figures: _Figures, levels: LevelThresholds) -> HabitProgress:
    shares = figures.contributions.get(EventKind.SHARE.value, 0)
    answers = 0
    if figures.contributions.get(EventKind.ANSWER.value, 0):
        # Questions answered, not messages: five messages in one thread are one answer, so
        # chatting in a colleague's thread can't make a habit out of one question.
        answers = figures.questions_answered
    used = 0
    if answers:  # a question whose asker marked one of the member's answers helpful
        used = figures.answers_helpful
    if shares:
        used += figures.shares_used
    return contribute_progress(
        shares,
        used,
        _weeks_active(figures.contributed_by_week),
        figures.contributed_this_week,
        answers,
        levels,
    )
