"""A big educators' server, generated in memory and bulk-loaded: members, intros, the ledger.

Everything is drawn from one seeded generator, so two runs (and both database backends) get
the same server. Members' activity and popularity are heavy-tailed (a few hubs with thousands
of ties, most members with a handful or none); about 30% introduced themselves, with subjects,
grade bands and topics of skewed popularity; last visits spread over a year, some members quiet
for months and some gone. Replies are often answered within hours and threads run for a few
turns, so there are conversations and relationships to find.

``ties`` and ``conversation_weeks`` are computed from the generated interactions with the
product's own rules (``tie_summary``, ``conversation_weeks``), pair by pair in memory, and
loaded like the rest: never through the per-event ingest path. Loading is COPY on PostgreSQL
and one ``executemany`` per chunk on SQLite.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bot.db import Database
from bot.habits import EventKind, Habit
from bot.services.conversations import Interaction, conversation_weeks, pair_of, tie_summary
from bot.services.interests import IntroAnswers

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)

SUBJECTS = (
    "Math", "English", "Science", "History", "ELA", "Biology", "Chemistry", "Physics",
    "Computer science", "Spanish", "Art", "Music", "PE", "Geography", "French", "Special education",
    "Reading", "Writing", "Economics", "Drama", "Health", "Civics", "Psychology", "Statistics",
    "ESL",
)  # fmt: skip
GRADES = (
    "K", "1st grade", "2nd grade", "3rd grade", "Grade 4", "Grade 5", "6th", "7th", "8th",
    "Year 9", "Year 10", "11th grade", "12th grade", "K-12",
)  # fmt: skip
TOPICS = (
    "assessment", "project-based learning", "classroom management", "differentiation", "edtech",
    "feedback", "formative assessment", "inquiry", "literacy", "numeracy", "SEL",
    "AI in education", "flipped classroom", "gamification", "coding", "UDL",
    "restorative practices", "parent communication", "rubrics", "station rotation", "peer review",
    "outdoor learning", "oracy", "metacognition", "retrieval practice", "spaced practice",
    "reading intervention", "math talks", "lab safety", "data literacy", "digital citizenship",
    "mentoring", "co-teaching", "grading", "homework", "curriculum design", "student voice",
    "wellbeing", "inclusion", "STEM",
)  # fmt: skip
ROLES = ("Teacher", "Teacher", "Teacher", "Instructional coach", "Librarian", "Head of department")

INTRODUCED = 0.30
NEWCOMERS = 0.02
LEFT = 0.04
LURKERS = 0.6
LURKING = 0.05
CHUNK = 20_000


def _zipf(count: int, exponent: float = 1.1) -> list[float]:
    """Cumulative weights of a skewed popularity: the first item is the most popular."""
    return list(itertools.accumulate(1 / (rank + 1) ** exponent for rank in range(count)))


@dataclass
class Generated:
    """Rows per table, as tuples in the column order of ``COLUMNS``."""

    now: datetime
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: defaultdict(list))
    # Distinct colleagues per member (either direction): who the hubs are.
    degree: dict[int, int] = field(default_factory=dict)
    newcomers: list[int] = field(default_factory=list)
    left: set[int] = field(default_factory=set)
    last_seen: dict[int, datetime] = field(default_factory=dict)


COLUMNS = {
    "servers": ("id", "name", "created_at"),
    "members": (
        "server_id", "user_id", "display_name", "first_seen_at", "last_seen_at", "left_at",
    ),
    "introductions": (
        "server_id", "user_id", "role", "subjects", "grade_bands", "learning", "helping",
        "created_at", "updated_at",
    ),
    "member_interests": ("server_id", "user_id", "kind", "tag"),
    "resources": (
        "id", "server_id", "shared_by", "url", "url_hash", "title", "channel_id", "created_at",
    ),
    "activity_events": (
        "id", "server_id", "member_id", "kind", "habit", "occurred_at", "other_member_id",
        "resource_id", "channel_id", "message_id", "dedupe_key",
    ),
    "ties": ("server_id", "member_a", "member_b", "first_at", "last_at", "a_to_b", "b_to_a"),
    "conversation_weeks": ("server_id", "member_a", "member_b", "week"),
}  # fmt: skip
# Parents first (foreign keys).
TABLES = tuple(COLUMNS)


def generate(
    server_id: int, member_ids: Sequence[int], events: int, now: datetime, seed: int = 7
) -> Generated:
    """One server with ``member_ids`` and ``events`` ledger events, reproducibly."""
    rng = random.Random(seed)
    out = Generated(now)
    members = list(member_ids)
    out.rows["servers"].append((server_id, "Big Educators", now - 3 * 365 * DAY))

    # Who they are: the same at every ledger size (the member draws come first).
    # Most members of a big server mostly read: they act (and are answered) far less often.
    activity = [
        rng.paretovariate(1.3) * (LURKING if rng.random() < LURKERS else 1) for _ in members
    ]
    popularity = [a * rng.lognormvariate(0, 0.5) for a in activity]
    first_seen: dict[int, datetime] = {}
    base_seen: dict[int, datetime] = {}
    for index, member in enumerate(members):
        if rng.random() < NEWCOMERS:
            out.newcomers.append(member)
            first_seen[member] = now - rng.uniform(0.1, 14) * DAY
            activity[index] *= 0.2
            popularity[index] *= 0.2
        else:
            first_seen[member] = now - rng.uniform(14, 3 * 365) * DAY
        # A year of last visits, most of them recent; about a third quiet for over 90 days.
        seen = now - 365 * DAY * rng.random() ** 3
        base_seen[member] = max(seen, first_seen[member])
        if member not in out.newcomers[-1:] and rng.random() < LEFT:
            out.left.add(member)
    introduced = [m for m in members if rng.random() < INTRODUCED]
    _introductions(rng, out, server_id, introduced, first_seen)

    # What they did.
    acts = list(itertools.accumulate(activity))
    pops = list(itertools.accumulate(popularity))
    by_index = {member: index for index, member in enumerate(members)}

    def actor() -> int:
        return members[bisect.bisect(acts, rng.random() * acts[-1])]

    def target(not_this: int) -> int:
        while True:
            chosen = members[bisect.bisect(pops, rng.random() * pops[-1])]
            if chosen != not_this:
                return chosen

    def when(*people: int) -> datetime:
        """A moment in the last year (more of them lately), after everyone involved arrived."""
        moment: datetime = now - 365 * DAY * float(rng.random() ** 1.5)
        arrived = max(first_seen[p] for p in people)
        if moment < arrived:
            moment = arrived + (now - arrived) * rng.random()
        return moment

    ledger = out.rows["activity_events"]
    resources = out.rows["resources"]
    last_event: dict[int, datetime] = {}
    message = itertools.count(10**15)
    threads: list[int] = []
    connect = Habit.CONNECT.value

    def add(
        member: int,
        kind: EventKind,
        at: datetime,
        other: int | None = None,
        resource: int | None = None,
        channel: int | None = None,
        habit: str | None = None,
    ) -> None:
        number = len(ledger) + 1
        mid = next(message) if kind in _MESSAGE_KINDS else None
        ledger.append(
            (number, server_id, member, kind.value, habit, at, other, resource, channel, mid,
             f"bench:{number}")
        )  # fmt: skip
        if at > last_event.get(member, at - DAY):
            last_event[member] = at

    general = (1, 2, 3, 4, 5)
    while len(ledger) < events:
        roll = rng.random()
        a = actor()
        if roll < 0.08:  # a share
            at = when(a)
            resource_id = len(resources) + 1
            resources.append(
                (resource_id, server_id, a, f"https://example.org/r/{resource_id}",
                 f"{resource_id:064x}", f"Resource {resource_id}", rng.choice(general), at)
            )  # fmt: skip
            add(a, EventKind.SHARE, at, resource=resource_id, channel=resources[-1][6],
                habit=Habit.CONTRIBUTE.value)  # fmt: skip
        elif roll < 0.20 and resources:  # someone used a shared resource
            used = resources[len(resources) - 1 - int(len(resources) * rng.random() ** 3)]
            resource_id, sharer, created = used[0], used[2], used[7]
            if sharer == a:
                continue
            at = max(created, when(a, sharer))
            kind = rng.choices(
                (EventKind.MARKED_USEFUL, EventKind.RESHARE, EventKind.REACTION), (6, 1, 5)
            )[0]
            add(a, kind, at, other=sharer, resource=resource_id, channel=used[6],
                habit=connect if kind is EventKind.REACTION else None)  # fmt: skip
        elif roll < 0.24:  # a thread started
            thread = 10**16 + len(threads)
            threads.append(thread)
            add(a, EventKind.THREAD_CREATED, when(a), channel=thread)
        else:  # one member reaching another, often answered within hours
            b = target(a)
            at = when(a, b)
            kind = rng.choices(
                (EventKind.REACTION, EventKind.REPLY, EventKind.THREAD_MESSAGE), (45, 33, 22)
            )[0]
            channel = rng.choice(threads) if kind is EventKind.THREAD_MESSAGE and threads else None
            if kind is EventKind.THREAD_MESSAGE and channel is None:
                kind = EventKind.REPLY
            if channel is None:
                channel = rng.choice(general)
            add(a, kind, at, other=b, channel=channel, habit=connect)
            if kind is EventKind.REACTION:
                continue
            speaker, listener = b, a
            while rng.random() < (0.45 if speaker == b else 0.35) and len(ledger) < events:
                at += rng.uniform(0.2, 60) * HOUR
                if at >= now:
                    break
                add(speaker, kind, at, other=listener, channel=channel, habit=connect)
                speaker, listener = listener, speaker
    del by_index

    for member in members:
        seen = max(base_seen[member], last_event.get(member, base_seen[member]))
        out.last_seen[member] = seen
        left_at = seen + rng.uniform(0, 30) * DAY if member in out.left else None
        if left_at is not None and left_at > now:
            left_at = now
        out.rows["members"].append(
            (server_id, member, f"Teacher {member % 100_000}", first_seen[member], seen, left_at)
        )
    _ties(out, server_id)
    return out


_MESSAGE_KINDS = {EventKind.REPLY, EventKind.THREAD_MESSAGE, EventKind.REACTION}
_INTERACTIONS = {EventKind.REPLY.value, EventKind.THREAD_MESSAGE.value, EventKind.REACTION.value}


def _pick(rng: random.Random, names: Sequence[str], weights: list[float], most: int) -> list[str]:
    picked: list[str] = []
    for _ in range(rng.randint(1, most)):
        name = names[bisect.bisect(weights, rng.random() * weights[-1])]
        if name not in picked:
            picked.append(name)
    return picked


def _introductions(
    rng: random.Random,
    out: Generated,
    server_id: int,
    introduced: list[int],
    first_seen: dict[int, datetime],
) -> None:
    subjects, grades, topics = _zipf(len(SUBJECTS)), _zipf(len(GRADES), 0.6), _zipf(len(TOPICS))
    for member in introduced:
        answers = IntroAnswers.from_form(
            rng.choice(ROLES),
            ", ".join(_pick(rng, SUBJECTS, subjects, 3)),
            ", ".join(_pick(rng, GRADES, grades, 2)),
            ", ".join(_pick(rng, TOPICS, topics, 3)),
            ", ".join(_pick(rng, TOPICS, topics, 3)),
        )
        at = first_seen[member] + (out.now - first_seen[member]) * rng.random() ** 4
        out.rows["introductions"].append(
            (server_id, member, answers.role, answers.subjects, answers.grade_bands,
             answers.learning, answers.helping, at, at)
        )  # fmt: skip
        out.rows["member_interests"].extend(
            (server_id, member, kind.value, tag) for kind, tag in sorted(answers.interests())
        )


def _ties(out: Generated, server_id: int) -> None:
    """Ties and conversation weeks from the interactions, with the product's own rules."""
    by_pair: defaultdict[tuple[int, int], list[Interaction]] = defaultdict(list)
    for row in out.rows["activity_events"]:
        kind, other = row[3], row[6]
        if kind in _INTERACTIONS and other is not None:
            thread = row[8] if kind == EventKind.THREAD_MESSAGE.value else None
            by_pair[pair_of(row[2], other)].append(Interaction(row[5], row[2], other, thread))
    degree: defaultdict[int, int] = defaultdict(int)
    for (a, b), interactions in by_pair.items():
        tie = tie_summary(interactions)
        if tie is None:
            continue
        degree[a] += 1
        degree[b] += 1
        out.rows["ties"].append(
            (server_id, a, b, tie.first_at, tie.last_at, tie.a_to_b, tie.b_to_a)
        )
        out.rows["conversation_weeks"].extend(
            (server_id, a, b, week) for week in sorted(conversation_weeks(interactions))
        )
    out.degree = dict(degree)


# -- loading ------------------------------------------------------------------------------------


def _sqlite_value(value: Any) -> Any:
    """What SQLAlchemy's SQLite types would bind: naive UTC text with microseconds, ISO dates."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


async def load(database: Database, generated: Generated) -> None:
    """Empty the tables the benchmark fills, then bulk-load every generated row."""
    async with database.engine.begin() as connection:
        if database.is_sqlite:
            for table in reversed(TABLES):
                await connection.exec_driver_sql(f"DELETE FROM {table}")  # noqa: S608
        else:
            await connection.exec_driver_sql(f"TRUNCATE {', '.join(TABLES)} CASCADE")
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        for table in TABLES:
            rows = generated.rows.get(table, [])
            columns = COLUMNS[table]
            for start in range(0, len(rows), CHUNK * 5):
                chunk = rows[start : start + CHUNK * 5]
                if database.is_sqlite:
                    marks = ", ".join("?" for _ in columns)
                    await connection.exec_driver_sql(
                        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
                        [tuple(_sqlite_value(v) for v in row) for row in chunk],
                    )
                else:
                    await driver.copy_records_to_table(table, records=chunk, columns=columns)
        if not database.is_sqlite:
            for table in ("activity_events", "resources"):
                await connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT coalesce(max(id), 1) FROM {table}))"
                    )
                )
    if not database.is_sqlite:
        # Autovacuum soon vacuums and analyzes freshly loaded tables; do it now, as a live
        # server's tables are: statistics for the planner, and a visibility map so that
        # index-only scans need not visit the table.
        async with database.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("VACUUM ANALYZE")
