"""Coaching quality on real data: would `/ask` and `/connect suggest` name the right people?

A community's reply structure (the columns of ../shared/data/askacademia-interactions.csv.gz:
``id, kind, thread_id, parent_id, author, parent_author, created_utc, depth``) is replayed, oldest
first, through the services the bot uses: each thread is an ``/ask`` by its author
(``AskService.ask``, which names helpers with ``route_helpers`` at that moment), its thread goes
up through the outbox (``Outbox.claim_due`` and ``record_posted``, the thread's id as the post's
message), and each comment is a message in that thread as the tracking cog would see it
(``SignalBatchWriter``: a reply to the comment's parent author, so ties and conversation weeks
form); top-level comments by others than the asker are stored as the ask's answers
(``asks_of_threads`` and ``record_answers``, what passive tracking does in ask threads), as the
data's guide says (deeper comments are the discussion that follows). A fake clock reads each event's
time, so members' ``last_seen_at`` and the 60-day "answered lately" window are what they were.

Then it scores against what really happened after ``--cutoff``:

- ``routing recall@3``: for each thread started after the cutoff and answered (a top-level
  comment) by someone other than its asker, is one of those answerers among the helpers
  ``/ask`` named? The replay keeps going past the cutoff in time order, and the helpers are
  the ones ``AskService.ask`` stored when the question was asked, so routing sees what the bot
  would have seen then (everything before the question, including earlier post-cutoff threads
  and answers) and nothing after it. That is how the bot works day to day; freezing at the
  cutoff would score a bot that stopped learning.
- ``connect precision@3``: for each member active (a thread or comment) both before and after
  the cutoff, the share of the 3 members ``SuggestionService.suggest`` names as of the cutoff
  that they really interacted with after it (a reply in either direction; a top-level comment
  replies to the thread's author). Fewer than 3 names count as misses.

Both against the baseline "the 3 most active members" (threads plus comments, as of the
question's time or the cutoff, excluding the member). Deleted accounts (an empty author) are
skipped, as bots are, with the comments in threads whose author was deleted.

    python -m bench.coaching_quality ../shared/data/askacademia-interactions.csv.gz \
        --cutoff 2021-10-01 [--days 60] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bench._askacademia import Comment, Thread
from bot.db import Database
from bot.db.migrate import upgrade
from bot.services.answers import AnswerTicket
from bot.services.asks import AskService, asks_of_threads, parse_ask, record_answers
from bot.services.members import Actor
from bot.services.outbox import Outbox
from bot.services.signal_batch import SignalBatchWriter
from bot.services.signals import Author, MessageSeen, Signal
from bot.services.suggestions import SuggestionService

SERVER = 1
SERVER_NAME = "Replayed community"
ASKS_CHANNEL = 5
WORKER = "bench/replay"
TOP = 3
# A batch of comments is written when a thread (an ask) comes, or when it spans this long or
# holds this many: members' last_seen_at is the batch's last time, so keep batches short.
BATCH_SPAN = timedelta(hours=6)
BATCH_SIZE = 500

Post = Thread | Comment


def read_posts(path: Path) -> list[Post]:
    """Threads and comments oldest first, like ``bench._askacademia.community`` for any file."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: int(row["created_utc"]))
    threads: set[str] = set()
    posts: list[Post] = []
    for row in rows:
        if not row["author"]:
            continue
        at = int(row["created_utc"])
        if row["kind"] == "submission":
            threads.add(row["id"])
            posts.append(Thread(row["id"], row["author"], at))
        elif row["thread_id"] in threads:
            posts.append(
                Comment(
                    key=row["id"],
                    thread=row["thread_id"],
                    parent=row["parent_id"],
                    author=row["author"],
                    parent_author=row["parent_author"],
                    at=at,
                    depth=int(row["depth"]),
                )
            )
    return posts


@dataclass(frozen=True, slots=True)
class Scores:
    routing: float
    routing_baseline: float
    questions: int
    connect: float
    connect_baseline: float
    members: int

    def lines(self) -> list[str]:
        return [
            f"routing recall@3: {self.routing:.3f} (baseline {self.routing_baseline:.3f})",
            f"connect precision@3: {self.connect:.3f} (baseline {self.connect_baseline:.3f})",
        ]


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _when(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def top_active(activity: Counter[int], excluding: int, count: int = TOP) -> list[int]:
    """The baseline: the ``count`` most active members, ``excluding`` one (ties by id)."""
    ranked = sorted(activity.items(), key=lambda item: (-item[1], item[0]))
    return [member for member, _ in ranked if member != excluding][:count]


@dataclass
class _Truth:
    """What really happened after the cutoff: who answered each thread, who met whom."""

    answerers: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    met: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    active_before: set[int] = field(default_factory=set)
    active_after: set[int] = field(default_factory=set)


class Replay:
    """The community replayed into a database through the bot's services, in time order."""

    def __init__(self, database: Database, posts: Sequence[Post]) -> None:
        self.database = database
        self.posts = posts
        self.clock = _Clock(_when(posts[0].at) if posts else datetime.now(UTC))
        self.asks = AskService(database, clock=self.clock)
        self.outbox = Outbox(database, clock=self.clock)
        self.writer = SignalBatchWriter()
        self.people: dict[str, int] = {}
        self.thread_ids: dict[str, int] = {}
        self.thread_owner: dict[str, int] = {}
        self.helpers: dict[str, list[int]] = {}  # who /ask named, by thread key
        self.activity: Counter[int] = Counter()  # threads + comments so far, for the baseline
        self.baseline_helpers: dict[str, list[int]] = {}
        self.route_variants: RouteVariants | None = None
        self.variant_helpers: defaultdict[str, dict[str, list[int]]] = defaultdict(dict)
        self._pending: list[tuple[Comment, MessageSeen]] = []
        self._next_id = 1_000_000

    def person(self, name: str) -> int:
        if name not in self.people:
            self.people[name] = 10_000 + len(self.people)
        return self.people[name]

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    async def run(self, until: datetime, *, from_index: int = 0) -> int:
        """Replay posts from ``from_index`` written before ``until``; returns the next index."""
        index = from_index
        while index < len(self.posts) and _when(self.posts[index].at) < until:
            post = self.posts[index]
            if isinstance(post, Thread):
                await self.flush()
                await self._ask(post)
            else:
                if self._pending and (
                    len(self._pending) >= BATCH_SIZE
                    or _when(post.at) - self._pending[0][1].at > BATCH_SPAN
                ):
                    await self.flush()
                self._comment(post)
            index += 1
        await self.flush()
        return index

    async def _ask(self, thread: Thread) -> None:
        at = _when(thread.at)
        self.clock.now = at
        asker = self.person(thread.author)
        self.baseline_helpers[thread.key] = top_active(self.activity, asker)
        if self.route_variants is not None:
            async with self.database.read() as session:
                variants = await self.route_variants(session, asker, at)
            for name, named in variants.items():
                self.variant_helpers[name][thread.key] = named
        ticket = AnswerTicket(4242, ASKS_CHANNEL, at + timedelta(minutes=15), WORKER, "replay")
        outcome = await self.asks.ask(
            Actor(SERVER, SERVER_NAME, asker, thread.author[:32]),
            parse_ask(f"Question {thread.key}", None),
            channel_id=ASKS_CHANNEL,
            answer=ticket,
        )
        self.helpers[thread.key] = [pick.member_id for pick in outcome.ask.helpers]
        thread_id = self._new_id()
        self.thread_ids[thread.key] = thread_id
        self.thread_owner[thread.key] = asker
        for claim in await self.outbox.claim_due(WORKER):
            if claim.subject_id == outcome.ask.id:
                await self.outbox.record_posted(claim, thread_id)
        self.activity[asker] += 1

    def _comment(self, comment: Comment) -> None:
        author = self.person(comment.author)
        answered = comment.parent_author
        signal = MessageSeen(
            SERVER,
            SERVER_NAME,
            self.thread_ids[comment.thread],
            self._new_id(),
            Author(author, comment.author[:32]),
            _when(comment.at),
            reply_to=self.person(answered) if answered else None,
            in_thread=True,
            thread_owner_id=self.thread_owner[comment.thread],
        )
        self._pending.append((comment, signal))
        self.activity[author] += 1

    async def flush(self) -> None:
        """Store the pending comments in one transaction, as the batched ingest would."""
        if not self._pending:
            return
        signals: list[Signal] = [signal for _, signal in self._pending]
        now = self._pending[-1][1].at
        self.clock.now = now
        async with self.database.write() as session:
            speakers = await self.writer.write(session, signals, now)
            threads = sorted({(SERVER, signal.channel_id) for _, signal in self._pending})
            asks = await asks_of_threads(session, threads)
            answers = []
            for comment, signal in self._pending:
                found = asks.get((SERVER, signal.channel_id))
                if found is not None and comment.top_level:
                    ask_id, asker_id = found
                    answers.append(
                        (ask_id, asker_id, signal.message_id, signal.author.user_id, signal.at)
                    )
            await record_answers(session, SERVER, answers)
        self.writer.remember(speakers)
        self._pending.clear()


def _truth(replay: Replay, cutoff: datetime, end: datetime | None) -> _Truth:
    truth = _Truth()
    owners = {post.key: post.author for post in replay.posts if isinstance(post, Thread)}
    # Questions asked in the scored window; a comment after the cutoff in an older thread is
    # an interaction but not the answer to a question routed after the cutoff.
    asked = {
        post.key
        for post in replay.posts
        if isinstance(post, Thread)
        and _when(post.at) >= cutoff
        and (end is None or _when(post.at) < end)
    }
    for post in replay.posts:
        at = _when(post.at)
        member = replay.person(post.author)
        if at < cutoff:
            truth.active_before.add(member)
            continue
        if end is not None and at >= end:
            continue
        truth.active_after.add(member)
        if isinstance(post, Comment):
            if post.top_level and post.thread in asked and post.author != owners[post.thread]:
                truth.answerers[post.thread].add(member)
            if post.parent_author and post.parent_author != post.author:
                other = replay.person(post.parent_author)
                truth.met[member].add(other)
                truth.met[other].add(member)
    return truth


async def connect_picks(
    database: Database, members: Iterable[int], at: datetime
) -> dict[int, list[int]]:
    """Who ``/connect suggest`` names for each member, as of ``at``."""
    service = SuggestionService(database, clock=lambda: at)
    return {
        member: [s.user_id for s in await service.suggest(SERVER, member, count=TOP)]
        for member in members
    }


def precision(picks: dict[int, list[int]], met: dict[int, set[int]]) -> float:
    if not picks:
        return 0.0
    hits = sum(len(set(named[:TOP]) & met.get(member, set())) for member, named in picks.items())
    return hits / (TOP * len(picks))


def recall(named: dict[str, list[int]], answerers: dict[str, set[int]]) -> float:
    if not answerers:
        return 0.0
    hits = sum(bool(set(named.get(key, [])[:TOP]) & real) for key, real in answerers.items())
    return hits / len(answerers)


# Other ways to pick, measured on the same replay (see bench._coaching_experiments): helpers for
# (session, asker, time), colleagues for (database, members, cutoff); by variant name.
RouteVariants = Callable[[AsyncSession, int, datetime], Awaitable[dict[str, list[int]]]]
ConnectVariants = Callable[
    [Database, Sequence[int], datetime], Awaitable[dict[str, dict[int, list[int]]]]
]


async def score(
    posts: Sequence[Post],
    cutoff: datetime,
    database: Database,
    *,
    days: int | None = None,
    route_variants: RouteVariants | None = None,
    connect_variants: ConnectVariants | None = None,
) -> tuple[Scores, dict[str, float]]:
    """Replay ``posts`` into ``database`` (migrated, empty) and score routing and connect.

    The variants are measured on the same replay for tuning (returned by name, never in
    ``Scores``).
    """
    end = cutoff + timedelta(days=days) if days is not None else None
    replay = Replay(database, posts)
    truth = _truth(replay, cutoff, end)
    next_index = await replay.run(cutoff)

    members = sorted(truth.active_before & truth.active_after)
    picks = await connect_picks(database, members, cutoff)
    baseline = {member: top_active(replay.activity, member) for member in members}
    extra: dict[str, float] = {}
    if connect_variants is not None:
        for name, found in (await connect_variants(database, members, cutoff)).items():
            extra[f"connect {name}"] = precision(found, truth.met)

    replay.route_variants = route_variants
    await replay.run(end or datetime.max.replace(tzinfo=UTC), from_index=next_index)
    answered = {key: real for key, real in truth.answerers.items() if real}
    for name, named in replay.variant_helpers.items():
        extra[f"routing {name}"] = recall(named, answered)
    scores = Scores(
        routing=recall(replay.helpers, answered),
        routing_baseline=recall(replay.baseline_helpers, answered),
        questions=len(answered),
        connect=precision(picks, truth.met),
        connect_baseline=precision(baseline, truth.met),
        members=len(members),
    )
    return scores, extra


async def run(
    path: Path,
    cutoff: datetime,
    *,
    days: int | None = None,
    database_url: str | None = None,
    experiments: bool = False,
) -> Scores:
    started = time.perf_counter()
    posts = read_posts(path)
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite+aiosqlite:///{folder}/coaching.sqlite3"
        database = Database(url, statement_timeout=None)
        try:
            await upgrade(database)
            if experiments:
                from bench import _coaching_experiments as variants

                scores, extra = await score(
                    posts,
                    cutoff,
                    database,
                    days=days,
                    route_variants=variants.route_variants,
                    connect_variants=variants.connect_variants,
                )
            else:
                scores, extra = await score(posts, cutoff, database, days=days)
        finally:
            await database.dispose()
    print(
        f"{len(posts):,} threads and comments replayed in {time.perf_counter() - started:.1f} s; "
        f"{scores.questions:,} answered questions after {cutoff:%Y-%m-%d}, "
        f"{scores.members:,} members active before and after"
    )
    for name, value in sorted(extra.items()):
        print(f"  experiment: {name}: {value:.3f}")
    for line in scores.lines():
        print(line)
    return scores


def _date(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="a CSV (or .csv.gz) with the data set's columns")
    parser.add_argument("--cutoff", type=_date, required=True, help="YYYY-MM-DD (UTC)")
    parser.add_argument("--days", type=int, help="score only this many days after the cutoff")
    parser.add_argument("--database-url")
    parser.add_argument(
        "--experiments", action="store_true", help="also measure the tuning variants"
    )
    args = parser.parse_args(argv)
    asyncio.run(
        run(
            args.data,
            args.cutoff,
            days=args.days,
            database_url=args.database_url,
            experiments=args.experiments,
        )
    )


if __name__ == "__main__":
    main()
