"""The weekly challenge to 5,000 servers at once under Discord's 50 requests/s, against the floor.

Two processes besides this one: the emulator (``python -m emulator``, enforcing the global limit
of 50 REST requests/s per bot, and Discord's per-route limits) and the real PLN Coach
(``python -m bot run``, as an operator starts it; sharded as Discord requires past 2,500
servers: shards 0 and 1 of 2 in the one process). The world: 5,000 servers, each with its lead
(the owner), a text channel and PLN Coach invited with its usual permissions. The database is
migrated fresh, then gets 5,000 ``servers`` rows and 5,000 challenge ``weekly_schedules`` all
due at one instant, a few seconds after the bot will be ready (``--lead`` after it starts; the
run stops if the bot was not ready by then).

Measured from the due instant to the last server's challenge post in the emulator (the bot
spreads each server's post over up to 20 s after its due time, ``bot.scheduling.weekly.spread``:
that is inside the time, on purpose, as it is inside the floor of 100 s for 5,000 posts):

- **floor**: the bot's REST requests the emulator let through in that window, divided by 50/s:
  the least time Discord's global limit allows for what the bot did (every request counts,
  not only the posts; requests answered 429 are counted apart);
- **time / floor** (target ≤ 1.1×), the **429s** answered in the window (target < 1 % of the
  requests), **duplicates** (servers with more than one challenge post; target 0) and
  **missing** servers (no post by the end).

    python -m bench.weekly_fanout [--servers 5000] [--database-url sqlite]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench] [--lead 25]

``--database-url`` may be given more than once (``sqlite`` is a temporary file); each database
gets its own run and its own summary line. A PostgreSQL database's ``public`` schema is dropped
and migrated afresh: give the benchmark its own database (e.g. ``bench``), never ``test``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from bench._processes import CoachProcess, EmulatorProcess
from bot.db import ChallengeWeek, Database, OutboxPost, Server, WeeklySchedule
from bot.db.migrate import upgrade
from bot.invite import INVITE_PERMISSIONS
from bot.scheduling.weekly import spread
from cogs.challenges.cards import done_marker

GLOBAL_LIMIT = 50  # Discord's REST requests per second per bot, enforced by the emulator
SPREAD = 20  # seconds: bot.scheduling.weekly.spread's default
TARGET_RATIO, TARGET_429 = 1.1, 0.01
POLL = 0.5
INSERT_CHUNK = 1000
# After every server has its post: how long to keep looking for late duplicates.
SETTLE = 10.0
ANSWERED = 0.1
CHANNEL = "weekly-challenge"
CHALLENGE_MARKER = done_marker(0).removesuffix("0")  # "pln:challenge:done:"
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # discord.py's log format may colour a file too
_WARNING = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL)\s+(\S+) (.*)$")
_CLAIM = re.compile(r"PostClaim\(post_id=.*?edit_message_id=[^)]*\)")
_TASK = re.compile(r"^future: <Task finished name='[^']*' coro=<([^ ]+) .*exception=(\w+)\(.*$")
_OWED = re.compile(r"^(\S+ \S+) INFO\s+bot\.delivery\.weekly Weekly posts: (\d+) owed")
_RAISED = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Unavailable)\b.*$")


def world_spec(servers: int) -> dict[str, Any]:
    """``servers`` servers, each with its lead, one text channel and PLN Coach invited."""
    return {
        "applications": [{"key": "coach", "name": "PLN Coach"}],
        "users": [{"key": f"lead{i}", "username": f"lead{i}"} for i in range(servers)],
        "guilds": [
            {
                "key": f"s{i}",
                "name": f"Educators {i}",
                "owner": f"lead{i}",
                "channels": [{"key": CHANNEL, "name": CHANNEL}],
                "bots": [{"application": "coach", "permissions": INVITE_PERMISSIONS.value}],
            }
            for i in range(servers)
        ],
    }


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime, stime in clock ticks (USER_HZ)


def monotonic_of(moment: datetime) -> float:
    """A wall-clock instant on ``time.monotonic()``'s scale (which the emulator shares)."""
    return time.monotonic() - (time.time() - moment.timestamp())


# -- the database -------------------------------------------------------------------------------


async def fresh_database(url: str) -> None:
    """An empty database at the current schema: a new SQLite file, or PostgreSQL's ``public``
    schema dropped and migrated again."""
    database = Database(url, statement_timeout=None)
    try:
        if not database.is_sqlite:
            name = make_url(url).database or ""
            if "test" in name:
                raise SystemExit(f"refusing to drop database {name!r}: give the benchmark its own")
            async with database.engine.begin() as connection:
                await connection.exec_driver_sql("DROP SCHEMA public CASCADE")
                await connection.exec_driver_sql("CREATE SCHEMA public")
        await upgrade(database)
    finally:
        await database.dispose()


async def insert_schedules(
    url: str, guilds: list[tuple[int, int]], due: datetime
) -> tuple[int, int]:
    """A ``servers`` row and a challenge schedule due at ``due`` per (server id, channel id)."""
    database = Database(url, statement_timeout=None)
    try:
        async with database.engine.begin() as connection:
            for start in range(0, len(guilds), INSERT_CHUNK):
                chunk = guilds[start : start + INSERT_CHUNK]
                await connection.execute(
                    insert(Server),
                    [
                        {"id": server, "name": f"Educators {start + i}"}
                        for i, (server, _) in enumerate(chunk)
                    ],
                )
                await connection.execute(
                    insert(WeeklySchedule),
                    [
                        {
                            "server_id": server,
                            "kind": "challenge",
                            "channel_id": channel,
                            "weekday": due.weekday(),
                            "local_time": f"{due:%H:%M}",
                            "zone": "UTC",
                            # As the bot stores it: the due time plus the server's spread.
                            "next_run_at": due + spread(server),
                            "follows_challenge": False,
                        }
                        for server, channel in chunk
                    ],
                )
        async with database.read() as session:
            servers = await session.scalar(select(func.count()).select_from(Server))
            schedules = await session.scalar(
                select(func.count())
                .select_from(WeeklySchedule)
                .where(WeeklySchedule.next_run_at >= due)
            )
        return servers or 0, schedules or 0
    finally:
        await database.dispose()


async def outcome_in_database(url: str) -> tuple[dict[int, int], Counter[str]]:
    """Each server's challenge week id, and the outbox's challenge posts by state."""
    database = Database(url)
    try:
        async with database.read() as session:
            weeks = dict(
                (await session.execute(select(ChallengeWeek.server_id, ChallengeWeek.id))).all()
            )
            states = Counter(
                dict(
                    (
                        await session.execute(
                            select(OutboxPost.state, func.count())
                            .where(OutboxPost.kind == "challenge")
                            .group_by(OutboxPost.state)
                        )
                    ).all()
                )
            )
        return weeks, states
    finally:
        await database.dispose()


# -- the run --------------------------------------------------------------------------------------


@dataclass
class Run:
    backend: str
    servers: int
    due: datetime
    ready_before_due: float
    startup: float
    # Per server: the wall-clock times of its challenge posts (duplicates included).
    posts: dict[int, list[float]] = field(default_factory=dict)
    markers: dict[int, list[list[str]]] = field(default_factory=dict)
    deleted: int = 0
    last_post: float | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    outbox: Counter[str] = field(default_factory=Counter)
    weeks: int = 0
    wrong_marker: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    warnings: Counter[str] = field(default_factory=Counter)
    timeline: list[tuple[float, int]] = field(default_factory=list)
    # The weekly clock's ticks that decided posts: (seconds after the due instant, posts owed).
    ticks: list[tuple[float, int]] = field(default_factory=list)
    timed_out: bool = False

    @property
    def posted(self) -> int:
        return sum(len(times) for times in self.posts.values())

    @property
    def elapsed(self) -> float:
        return (self.last_post or self.due.timestamp()) - self.due.timestamp()

    @property
    def let_through(self) -> int:
        return int(self.counts.get("requests", 0)) - int(self.counts.get("rate_limited", 0))

    @property
    def floor(self) -> float:
        return self.let_through / GLOBAL_LIMIT

    @property
    def ratio(self) -> float:
        return self.elapsed / self.floor if self.floor else float("inf")

    @property
    def share_429(self) -> float:
        total = int(self.counts.get("requests", 0))
        return int(self.counts.get("rate_limited", 0)) / total if total else 0.0

    @property
    def duplicates(self) -> int:
        return sum(len(times) > 1 for times in self.posts.values())

    @property
    def missing(self) -> int:
        return self.servers - sum(bool(times) for times in self.posts.values())

    def met(self) -> bool:
        return (
            self.ratio <= TARGET_RATIO
            and self.duplicates == 0
            and self.missing == 0
            and self.share_429 < TARGET_429
        )

    def line(self) -> str:
        counts = self.counts
        return (
            f"{self.backend:<10} posts {self.posted:,} to {self.servers:,} servers in "
            f"{self.elapsed:.1f} s; floor {self.floor:.1f} s ({self.let_through:,} requests "
            f"÷ {GLOBAL_LIMIT}/s); ratio {self.ratio:.3f}×; 429s {counts.get('rate_limited', 0)}"
            f" ({self.share_429:.2%} of {counts.get('requests', 0):,}); duplicates "
            f"{self.duplicates}; missing {self.missing}   "
            f"target ≤ {TARGET_RATIO}×, 0 duplicates, < {TARGET_429:.0%} 429s: "
            f"{'met' if self.met() else 'NOT met'}"
        )


async def wait_ready(coach: CoachProcess, emulator: EmulatorProcess, shards: int) -> None:
    """Until the bot's shards are connected and it said so (on_ready starts the weekly clock)."""
    await emulator.wait_for_sessions(max(shards, 1), within=300)
    while "Connected as" not in coach.log_path.read_text(errors="replace"):
        coach.check_alive()
        await asyncio.sleep(0.1)


async def follow_posts(
    emulator: EmulatorProcess,
    coach: CoachProcess,
    bot_user: int,
    channels: dict[int, int],
    run: Run,
    within: float,
) -> None:
    """Follow the bot's posts in the servers' channels until every server has one (and
    ``SETTLE`` s more) or ``within`` s after the due instant."""
    after = 0
    settled_at: float | None = None
    deadline = run.due.timestamp() + within
    while True:
        coach.check_alive()
        found = (await emulator.call("GET", f"/messages?author_id={bot_user}&after={after}"))[
            "messages"
        ]
        if found:
            after = max(int(message["id"]) for message in found)
            tally(found, channels, run)
        complete = sum(bool(times) for times in run.posts.values())
        now = time.time()
        if now >= run.due.timestamp():
            run.timeline.append((now - run.due.timestamp(), complete))
        if complete >= run.servers and settled_at is None:
            settled_at = now
        if settled_at is not None and now - settled_at >= SETTLE:
            return
        if now > deadline:
            run.timed_out = True
            return
        await asyncio.sleep(POLL)


def tally(messages: list[dict[str, Any]], channels: dict[int, int], run: Run) -> int:
    """Add the challenge posts among ``messages`` to ``run``; returns how many were not."""
    others = 0
    for message in messages:
        server = channels.get(int(message["channel_id"]))
        markers = list(message["markers"])
        if server is None or not any(m.startswith(CHALLENGE_MARKER) for m in markers):
            others += 1
            continue
        run.deleted += bool(message["deleted"])
        run.posts.setdefault(server, []).append(float(message["created_at"]))
        run.markers.setdefault(server, []).append(markers)
    return others


def warnings_in(log: Path) -> Counter[str]:
    """The log's warnings and errors, and the exceptions in its tracebacks, counted by kind
    (numbers shown as N, a claim's details left out)."""
    found: Counter[str] = Counter()
    lines = _COLOUR.sub("", log.read_text(errors="replace")).splitlines()
    for index, line in enumerate(lines):
        match = _WARNING.match(line)
        if match:
            level, logger, message = match.groups()
            if message.startswith("Task exception was never retrieved") and index + 1 < len(lines):
                message += " " + _TASK.sub(r"\1 … \2", lines[index + 1])
            message = _NUMBER.sub("N", _CLAIM.sub("PostClaim(…)", message))
            found[f"{level} {logger}: {message[:160]}"] += 1
            continue
        raised = _RAISED.match(line)
        if raised:
            found[f"  raised {_NUMBER.sub('N', raised.group(0))[:150]}"] += 1
    return found


def ticks_in(log: Path, due: datetime) -> list[tuple[float, int]]:
    """When the weekly clock decided posts, by its log lines (local time, whole seconds)."""
    found = []
    for line in _COLOUR.sub("", log.read_text(errors="replace")).splitlines():
        match = _OWED.match(line)
        if match:
            logged = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").astimezone(UTC)
            found.append(((logged - due).total_seconds(), int(match.group(2))))
    return found


async def run_once(
    url: str, servers: int, lead: float, shards: int, within: float, keep_log: Path | None
) -> Run:
    backend = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    emulator = EmulatorProcess("--global-rate-limit", str(GLOBAL_LIMIT))
    await emulator.start()
    coach: CoachProcess | None = None
    folder = tempfile.mkdtemp(prefix="pln-fanout-")
    try:
        started = time.perf_counter()
        world = await emulator.call("POST", "/world", world_spec(servers))
        app = world["applications"]["coach"]
        guilds = [(int(g["id"]), int(g["channels"][CHANNEL])) for g in world["guilds"].values()]
        channels = {channel: server for server, channel in guilds}
        print(
            f"{backend}: world of {servers:,} servers built in "
            f"{time.perf_counter() - started:.1f} s; migrating a fresh database…",
            flush=True,
        )
        if url == "sqlite":
            url = f"sqlite+aiosqlite:///{Path(folder) / 'pln-coach.sqlite3'}"
        await fresh_database(url)
        due = (datetime.now(UTC) + timedelta(seconds=lead)).replace(microsecond=0)
        rows, schedules = await insert_schedules(url, guilds, due)
        if rows != servers or schedules != servers:
            raise RuntimeError(f"{rows} servers and {schedules} schedules stored of {servers}")
        coach = CoachProcess(Path(folder), emulator, app["token"], url)
        if shards > 1:
            sharding = f"shard_ids = {list(range(shards))}\nshard_count = {shards}\n"
            coach.config.write_text(
                coach.config.read_text().replace("[discord]\n", f"[discord]\n{sharding}", 1)
            )
        launched = time.time()
        await coach.start()
        await wait_ready(coach, emulator, shards)
        ready = time.time()
        ahead = due.timestamp() - ready
        print(
            f"{backend}: PLN Coach ({coach.pid}) ready in {ready - launched:.1f} s; "
            f"{servers:,} challenges due in {ahead:.1f} s…",
            flush=True,
        )
        if ahead < 1.0:
            raise SystemExit(
                f"the bot was ready {ready - launched:.0f} s after it started, too late for "
                f"the due instant; run again with a longer --lead (now {lead:.0f} s)"
            )
        run = Run(backend, servers, due, ahead, ready - launched)
        bot_user = int(app["bot_user_id"])
        await asyncio.sleep(max(0.0, due.timestamp() - time.time()))
        due_at = monotonic_of(due)
        run.before = await emulator.call(
            "GET", f"/requests?application_id={app['id']}&until={due_at}"
        )
        pids = {"PLN Coach": coach.pid, "emulator": emulator.pid}
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        await follow_posts(emulator, coach, bot_user, channels, run, within)
        # The final tally from everything the bot posted (deleted posts as they are now).
        run.posts, run.markers, run.deleted = {}, {}, 0
        everything = await emulator.call("GET", f"/messages?author_id={bot_user}")
        others = tally(everything["messages"], channels, run)
        firsts = [min(times) for times in run.posts.values() if times]
        run.last_post = max(firsts) if firsts else None
        run.cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        # A request is recorded as answered just after the message it made was created.
        end = monotonic_of(datetime.fromtimestamp(run.last_post or time.time(), UTC)) + ANSWERED
        run.counts = await emulator.call(
            "GET", f"/requests?application_id={app['id']}&since={due_at}&until={end}"
        )
        run.after = await emulator.call("GET", f"/requests?application_id={app['id']}&since={end}")
        weeks, run.outbox = await outcome_in_database(url)
        run.weeks = len(weeks)
        # Every post must carry its own server's week (not another server's).
        run.wrong_marker = sum(
            server not in weeks or done_marker(weeks[server]) not in markers
            for server, posts in run.markers.items()
            for markers in posts
        )
        if others:
            run.warnings[f"(bench) {others} other message(s) by the bot"] += 1
        await coach.stop()
        run.warnings.update(warnings_in(coach.log_path))
        run.ticks = ticks_in(coach.log_path, due)
        coach = None
        return run
    finally:
        if coach is not None:
            await coach.stop()
        await emulator.stop()
        if keep_log is not None:
            log = Path(folder) / "pln-coach.log"
            if log.exists():
                target = keep_log.with_name(f"{keep_log.stem}-{backend_of(url)}{keep_log.suffix}")
                shutil.copy(log, target)
        shutil.rmtree(folder, ignore_errors=True)


def backend_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def report(run: Run, show_timeline: bool) -> None:
    counts = run.counts
    print(
        f"\n{run.backend}: the due instant was {run.ready_before_due:.1f} s after the bot was "
        f"ready (start-up {run.startup:.1f} s); times from the due instant, spread of up to "
        f"{SPREAD} s per server included"
    )
    routes = ", ".join(f"{route} {n:,}" for route, n in counts.get("by_route", {}).items())
    print(f"  requests in the window by route: {routes or 'none'}")
    print(
        f"  429s: {counts.get('rate_limited', 0)} ({counts.get('rate_limited_global', 0)} global,"
        f" {counts.get('rate_limited_route', 0)} per route); before the due instant "
        f"{run.before.get('requests', 0):,} requests ({run.before.get('rate_limited', 0)} 429s);"
        f" after the last post {run.after.get('requests', 0):,} "
        f"({run.after.get('rate_limited', 0)} 429s)"
    )
    states = ", ".join(f"{state} {n:,}" for state, n in sorted(run.outbox.items()))
    print(
        f"  database: {run.weeks:,} challenge weeks, outbox challenge posts {states or 'none'}; "
        f"deleted posts {run.deleted}; posts with another server's marker {run.wrong_marker}"
        + ("; TIMED OUT before every server had its post" if run.timed_out else "")
    )
    if run.ticks:
        biggest = max(run.ticks, key=lambda tick: tick[1])
        print(
            f"  decided by the weekly clock in {len(run.ticks)} ticks from {run.ticks[0][0]:.0f}"
            f" to {run.ticks[-1][0]:.0f} s (logged at the end of each); the largest: "
            f"{biggest[1]:,} posts, logged at {biggest[0]:.0f} s"
        )
    cpu = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in run.cpu.items())
    print(f"  CPU during the fan-out: {cpu}; {os.cpu_count()} cores")
    if run.warnings:
        print("  PLN Coach's log, warnings and errors (numbers shown as N):")
        for message, count in run.warnings.most_common(12):
            print(f"    {count:>6} × {message}")
    if show_timeline:
        print("  servers with their post, by seconds after the due instant:")
        marks: dict[int, int] = {}
        for elapsed, complete in run.timeline:
            marks[int(elapsed // 10) * 10] = complete
        for second, complete in sorted(marks.items()):
            print(f"    {second:>5} s {complete:>7,}")


async def run(
    urls: list[str],
    servers: int,
    lead: float,
    shards: int,
    within: float,
    show_timeline: bool,
    keep_log: Path | None,
) -> None:
    runs = []
    for url in urls:
        done = await run_once(url, servers, lead, shards, within, keep_log)
        report(done, show_timeline)
        runs.append(done)
    print(
        f"\nWeekly challenge fan-out: {servers:,} servers due at one instant, PLN Coach and the "
        f"emulator in their own processes, Discord's global limit of {GLOBAL_LIMIT}/s enforced;"
        f" time from the due instant to the last server's post"
    )
    for done in runs:
        print(done.line())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", type=int, default=5000)
    parser.add_argument(
        "--database-url",
        action="append",
        dest="urls",
        help="sqlite (a temporary file, the default) or postgresql+asyncpg://…; repeatable",
    )
    parser.add_argument(
        "--lead", type=float, default=25, help="seconds from the bot's start to the due instant"
    )
    parser.add_argument(
        "--shards", type=int, default=2, help="shards in the bot's process (Discord: ≤ 2,500 each)"
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds after the due instant")
    parser.add_argument("--timeline", action="store_true", help="progress every 10 s")
    parser.add_argument("--log", type=Path, help="keep PLN Coach's log (one per database)")
    args = parser.parse_args()
    urls = args.urls or ["sqlite"]
    asyncio.run(
        run(urls, args.servers, args.lead, args.shards, args.timeout, args.timeline, args.log)
    )


if __name__ == "__main__":
    main()
