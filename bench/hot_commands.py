"""`make bench`: PLN Coach's hot commands against a bare bot making the same Discord calls.

Three processes besides this one, as in production where Discord is never in the bot's process:
the emulator (``python -m emulator``, Discord's per-route limits relaxed so the figures measure
the bots, not the rate limiter), PLN Coach as an operator starts it (``python -m bot run``) and a
bare discord.py bot with PLN Coach's intents whose commands have the same names and make the
same calls but do no work of their own (``bench._bare_commands``). Both bots are in one server.
The members are played by the emulator itself (``emulator.load``, ``POST /load``): this process
only builds the world, asks for loads and prints.

For each hot command (/share, /progress, /ask, /connect suggest, the Useful button), each bot, in
the same run (the bare bot first, then PLN Coach):

- **probe**: one interaction alone, every call the bot made for it listed; the two bots must make
  the same calls, and the final answer must be the last of them (so that an interaction can be
  counted complete at its final answer: ``emulator.load`` says why);
- **closed loop**: ``--n`` interactions, 16 in flight: completions per second, in
  ``ROUNDS`` alternating rounds (bare, PLN Coach, bare, ...) of ``--n / ROUNDS`` each. The two
  bots share the machine's two cores with the emulator, and the bare bot's rate alone moved
  300-640/s between runs; the line shows each bot's median round and the median of the rounds'
  ratios (each PLN Coach round against the bare round just before it);
- **paced**: ``--paced-n`` interactions started at 50/s, in ``ROUNDS`` alternating rounds too
  (this machine's pauses come and go over minutes: one bot measured wholly before the other
  once saw p99 move 11 -> 31 ms between runs of the same code): p50/p99 of all rounds'
  samples together, from INTERACTION_CREATE to the final answer, and p99 of the first
  response (the acknowledgement Discord wants within 3 s). Each round starts with
  ``PACED_LEAD_IN`` interactions at the same pace that are not counted: the first after the
  quiet between loads ran 2-6 ms slower than the round's median on PLN Coach and 1-3 ms on
  the bare bot, every round. That is this machine more than the bots: raw SQLite's smallest
  commit takes 0.006 ms in a stream and 0.16 ms after a second asleep, on tmpfs too (caches
  gone cold), and a bot that does more per interaction has more to fetch again. Three rounds'
  first samples sat right where p99 of 600 was read. They are printed apart, under the table:
  on a quiet server every command is a first one. By default p99 is the 15th slowest of 1,500
  samples per bot (it was the 6th of 600, and moved with a stray pause or two), and a closed
  round of the fastest command lasts a quarter of a second rather than a tenth.

With ``--database-url`` (PostgreSQL) a second PLN Coach, on SQLite, runs in the same rounds
(bare, PLN Coach, PLN Coach on SQLite, ...): its line follows each command's, and a last table
divides the two throughput ratios, the issue's "PostgreSQL within 20% of SQLite". Run apart, the
two could not be compared: the same code's bare rate moved by a third between runs.

Passive ingestion has no interactions: its line is ``bench.ingest_gateway`` on a smaller stream
(its own three processes), sustained events/s of each bot; it makes no Discord call, so it has
no latency to completion.

Discord's rate limits are lifted for both bots by default (``--discord-limits`` keeps them): the
per-route ones, and the global 50 requests/s per bot with PLN Coach's own pacing under it
(``[discord] requests_per_second``). With them, /connect suggest (six member lookups) could not
pass 8/s on either bot, /ask (two posts) 25/s, and the figures would measure the limit.

The world: one server of 120 members and 4 channels, no ``/pln setup`` (cards and questions go
where the command is used). Warm-up, so every command does its real work: every member sends
PLN Coach the ``/connect intro`` form (four kinds of teacher), so ``/connect suggest`` has
candidates; half the members each share once with each bot (the cards the Useful button is
pressed on, always by a member of the other half and never twice by the same member on the same
card, so every press is a real mark); each command runs ``WARM_UP`` times on each bot, 16 in
flight, before it is measured, so what is measured is a bot that has been running: on
PostgreSQL every pooled connection has prepared each statement and has been given its reusable
plan (PostgreSQL plans a prepared statement anew for its first five runs on a connection: the
/progress read took 1.6 ms of planning and running for those, 0.7 ms after; with 32 warm-up
runs spread over 20 connections the first measured round still paid that). PLN Coach runs
with ``[limits] member_cooldowns = false``.

Targets, per line: closed-loop throughput ≥ 0.5× the bare bot's (aim 0.7×), first response
p99 ≤ 10 ms, paced p99 to completion ≤ 1.5× the bare bot's. CPU ms per interaction (closed loop)
come from /proc. The machine's 2 cores are shared: compare the two bots of one run.

    python -m bench.hot_commands [--n 1200] [--paced-n 1500] [--only share,progress]
        [--database-url URL] [--events 30000] [--calls] [--discord-limits] [--log PATH]
        [--samples PATH]

``--samples`` keeps every paced sample (JSON: per command, per bot, per round, each
interaction's first response and completion in ms, in the order they started), for whoever
chases a tail: a pause shows as a run of slow samples in a row, a slow path as scattered ones.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import ingest_gateway
from bench._processes import BareBotProcess, CoachProcess, EmulatorProcess
from bench.ingest_gateway import cpu_seconds
from bot.db import Database
from bot.invite import INVITE_PERMISSIONS

MEMBERS = 120
CHANNELS = 4
IN_FLIGHT = 16
RATE = 50.0
# Enough for each of PostgreSQL's 20 pooled connections to run each statement 5+ times.
WARM_UP = 160
ROUNDS = 3
# Interactions that start each paced round, at its pace, and are not counted (see above).
PACED_LEAD_IN = 5
INGEST_EVENTS = 30_000
# Between loads, every process must have used less than this share of a core over the window.
QUIET_WINDOW, QUIET_SHARE = 0.3, 0.15
# PLN Coach's own pacing under Discord's global limit, lifted like the emulator's limits.
UNPACED = 1_000_000
TARGET_THROUGHPUT, AIM_THROUGHPUT = 0.5, 0.7
TARGET_FIRST_P99_MS = 10.0
TARGET_PACED_P99_RATIO = 1.5
# On PostgreSQL, each command's throughput ratio within 20% of its SQLite twin's (same run).
TARGET_POSTGRES_SHARE = 0.8
# PLN Coach's twin on SQLite, beside the one measured on PostgreSQL.
SQLITE_TWIN = "sqlite"
TOKEN_CALL = re.compile(r"^(POST /interactions/|PATCH /webhooks/|POST /webhooks/)")
# The intro form's answers, by label: four kinds of teacher, so suggestions have real choices.
INTROS = [
    {
        "Your role": "7th-grade science teacher",
        "Subjects": "Science, Biology",
        "Grade bands": "7th grade",
        "What I want to learn": "project-based learning",
        "What I can help with": "lab safety",
    },
    {
        "Your role": "Maths teacher",
        "Subjects": "Math, Statistics",
        "Grade bands": "grades 9-12",
        "What I want to learn": "assessment",
        "What I can help with": "spreadsheets",
    },
    {
        "Your role": "Librarian",
        "Subjects": "Reading, ELL",
        "Grade bands": "grade 6",
        "What I want to learn": "media literacy",
        "What I can help with": "book clubs",
    },
    {
        "Your role": "Instructional coach",
        "Subjects": "Science, Math",
        "Grade bands": "7th grade, grade 8",
        "What I want to learn": "classroom routines",
        "What I can help with": "project-based learning",
    },
]


@dataclass(frozen=True)
class Hot:
    """A hot command: its slash command and options (None: the Useful button)."""

    key: str
    label: str
    command: str | None

    def options(self, phase: str) -> dict[str, Any]:
        """Options for one load; ``phase`` and ``{i}`` make every link and question new."""
        if self.key == "share":
            return {
                "url": f"https://example.org/{phase}/{{i}}",
                "title": "Fraction strips, printable {i}",
                "note": "Worked well for 7th grade: students build and compare fractions.",
                "tags": "math, 7th-grade, fractions",
            }
        if self.key == "ask":
            return {
                "question": "How do you grade lab reports without spending all weekend? "
                f"({phase} {{i}})",
                "tags": "assessment, science",
            }
        return {}


HOT = [
    Hot("share", "/share", "share"),
    Hot("progress", "/progress", "progress"),
    Hot("ask", "/ask", "ask"),
    Hot("suggest", "/connect suggest", "connect suggest"),
    Hot("useful", "Useful button", None),
]
INGEST = "ingest"
CHOICES = [hot.key for hot in HOT] + [INGEST]


@dataclass
class Bot:
    """One of the two bots in the world, and the Useful presses left for it."""

    name: str
    application_id: str
    process: CoachProcess | BareBotProcess
    card_prefix: str
    presses: Iterator[dict[str, str]] = field(default_factory=lambda: iter(()))


@dataclass
class Run:
    """One load's figures (``emulator.load``) and the CPU each process spent on it."""

    figures: dict[str, Any]
    cpu: dict[str, float]

    @property
    def calls(self) -> int:
        """Discord calls the bot made in this load."""
        bot_calls: dict[str, int] = self.figures["bot_calls"]
        return int(self.figures["token_calls"]) + sum(bot_calls.values())


@dataclass
class Line:
    """What one command measured on both bots."""

    hot: Hot
    # The closed loop's rounds, in the order they ran, per bot.
    closed: dict[str, list[Run]] = field(default_factory=dict)
    # The paced rounds, in the order they ran, per bot (their samples are pooled).
    paced: dict[str, list[Run]] = field(default_factory=dict)
    probes: dict[str, list[str]] = field(default_factory=dict)


def database_server_cpu() -> dict[int, float]:
    """CPU seconds so far of each of this machine's PostgreSQL processes: the benchmark's
    database is the only busy one, and its backends live as long as PLN Coach's pooled
    connections."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().split(" (", 1)[1].startswith("postgres)"):
                found[int(stat.parent.name)] = cpu_seconds(int(stat.parent.name))
        except (OSError, IndexError):  # the process ended meanwhile
            continue
    return found


def database_server_cpu_since(before: dict[int, float]) -> float:
    """What the processes alive now spent since ``before`` (the new ones: all they spent)."""
    return sum(spent - before.get(pid, 0.0) for pid, spent in database_server_cpu().items())


async def gather_statistics(url: str) -> None:
    """ANALYZE the PostgreSQL database once the warm-up has filled it, as autovacuum keeps a live
    database analyzed: a fresh one has no statistics yet, and without them PostgreSQL planned
    the progress read's count of a member's uses over every event of the server."""
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            await connection.execute(text("ANALYZE"))
            await connection.commit()
    finally:
        await database.dispose()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def world_spec(with_twin: bool = False) -> dict[str, Any]:
    """``with_twin``: a second PLN Coach (on SQLite) beside the one measured on PostgreSQL."""
    members = [f"teacher{i:03}" for i in range(MEMBERS)]
    apps = ["coach", "bare"] + ([SQLITE_TWIN] if with_twin else [])
    names = {"coach": "PLN Coach", "bare": "Bare Bot", SQLITE_TWIN: "PLN Coach on SQLite"}
    return {
        "applications": [{"key": app, "name": names[app]} for app in apps],
        "users": [{"key": m, "username": m, "global_name": m.title()} for m in members],
        "guilds": [
            {
                "key": "school",
                "name": "Bench Educators",
                "owner": members[0],
                "channels": [{"key": f"room-{i}", "name": f"room-{i}"} for i in range(CHANNELS)],
                "members": [{"user": m} for m in members],
                "bots": [
                    {"application": app, "permissions": INVITE_PERMISSIONS.value} for app in apps
                ],
            }
        ],
    }


class HotBench:
    """The three processes, the world, and loads run on it."""

    def __init__(self, emulator: EmulatorProcess, world: dict[str, Any]) -> None:
        self.emulator = emulator
        guild = world["guilds"]["school"]
        self.guild_id = guild["id"]
        self.channels = list(guild["channels"].values())
        members = [world["users"][f"teacher{i:03}"] for i in range(MEMBERS)]
        self.members = members
        # Half the members run the commands; the other half press Useful on their cards.
        self.sharers, self.pressers = members[: MEMBERS // 2], members[MEMBERS // 2 :]
        self.bots: dict[str, Bot] = {}
        self.pids: dict[str, int] = {"emulator": emulator.pid}
        # PostgreSQL's server runs on the same two cores: its CPU is counted too (SQLite's is
        # in PLN Coach's own process).
        self.count_database_server = False

    async def load(self, bot: Bot, hot: Hot | None, **shape: Any) -> Run:
        """One load on one bot; ``hot`` None with ``command=``/``form=`` in ``shape`` for others."""
        spec: dict[str, Any] = {
            "application_id": bot.application_id,
            "guild_id": self.guild_id,
            "channels": self.channels,
            "users": self.sharers,
            "answer_calls": 2,
            **shape,
        }
        if hot is not None and hot.command is None:
            spec["presses"] = list(itertools.islice(bot.presses, spec["n"]))
        elif hot is not None:
            spec["command"] = hot.command
            spec["options"] = hot.options(f"{bot.name}-{time.monotonic_ns()}")
        await self.settle_down()
        before = self.cpu_now()
        database_before = database_server_cpu() if self.count_database_server else None
        figures = await self.emulator.call("POST", "/load", spec)
        after = self.cpu_now()
        cpu = {name: after[name] - before[name] for name in before}
        # The emulator's garbage collection before the load is not part of the load.
        cpu["emulator"] -= figures.get("collect_cpu_s", 0.0)
        if database_before is not None:
            cpu["database"] = database_server_cpu_since(database_before)
        for known in self.bots.values():
            if isinstance(known.process, CoachProcess):
                known.process.check_alive()  # a crash says so, rather than as timeouts
        return Run(figures, cpu)

    def cpu_now(self) -> dict[str, float]:
        """CPU seconds so far of each process."""
        return {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    async def settle_down(self, within: float = 10.0) -> None:
        """Wait until no process is busy: what one load left behind (a card still posting,
        events still being ingested) must not slow the next one down."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            before = self.cpu_now()
            await asyncio.sleep(QUIET_WINDOW)
            after = self.cpu_now()
            busiest = max(after[name] - before[name] for name in before)
            if busiest <= QUIET_WINDOW * QUIET_SHARE:
                return

    async def wait_for_commands(self, bot: Bot, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while True:
            answer = await self.emulator.call(
                "GET", f"/commands?application_id={bot.application_id}"
            )
            if {"share", "progress", "ask", "connect"} <= set(answer["names"]):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{bot.name}'s commands were not registered in {within} s")
            await asyncio.sleep(0.2)

    @property
    def coaches(self) -> list[Bot]:
        """PLN Coach, and its twin on SQLite when PostgreSQL is measured."""
        return [bot for name, bot in self.bots.items() if name != "bare"]

    async def warm_up(self) -> None:
        """The world every command needs: intros, and the cards the Useful button is pressed on."""
        bare = self.bots["bare"]
        for coach in self.coaches:
            who = "PLN Coach" + (" on SQLite" if coach.name == SQLITE_TWIN else "")
            print(f"warm-up: {MEMBERS} intros to {who}…", flush=True)
            intros = await self.load(
                coach,
                None,
                command="connect intro",
                form=INTROS,
                users=self.members,
                n=MEMBERS,
                in_flight=IN_FLIGHT,
            )
            _check_complete(f"warm-up intros ({coach.name})", intros)
        share = HOT[0]
        for bot in (bare, *self.coaches):
            run = await self.load(bot, share, n=len(self.sharers), in_flight=IN_FLIGHT)
            _check_complete(f"warm-up shares ({bot.name})", run)
            await self._find_cards(bot)

    async def warm_up_command(self, hot: Hot) -> None:
        """Just before the command is measured: warmed with the others minutes earlier, its
        probe met a bot whose caches had moved on (/connect suggest looked members up)."""
        for bot in (self.bots["bare"], *self.coaches):
            run = await self.load(bot, hot, n=WARM_UP, in_flight=IN_FLIGHT)
            _check_complete(f"warm-up {hot.label} ({bot.name})", run)

    async def _find_cards(self, bot: Bot) -> None:
        """The bot's cards, and presses on them that each make a new mark."""
        answer = await self.emulator.call("GET", f"/messages?author_id={bot.application_id}")
        cards = [
            (m["id"], marker)
            for m in answer["messages"]
            for marker in m["markers"]
            if marker.startswith(bot.card_prefix)
        ]
        bot.presses = _distinct_presses(cards, self.pressers)

    async def measure(self, hot: Hot, n: int, paced_n: int) -> Line:
        line = Line(hot)
        await self.warm_up_command(hot)
        for bot in (self.bots["bare"], *self.coaches):
            probe = await self.load(bot, hot, n=1, in_flight=1, trace=True, settle=1.0)
            _check_complete(f"probe {hot.label} ({bot.name})", probe)
            line.probes[bot.name] = [call for _, call, _ in probe.figures["trace"]]
        await self._in_rounds(hot, line.closed, n=n, in_flight=IN_FLIGHT)
        await self._in_rounds(hot, line.paced, n=paced_n, lead_in=PACED_LEAD_IN, rate=RATE)
        return line

    async def _in_rounds(
        self, hot: Hot, runs: dict[str, list[Run]], *, n: int, lead_in: int = 0, **load: Any
    ) -> None:
        """``n`` interactions per bot, in ROUNDS alternating rounds (bare first), each round
        after ``lead_in`` more that are not counted (their completions are kept apart)."""
        for _ in range(ROUNDS):
            for bot in (self.bots["bare"], *self.coaches):
                run = await self.load(bot, hot, n=max(1, n // ROUNDS) + lead_in, **load)
                if lead_in:
                    figures = run.figures
                    figures["lead_in_ms"] = figures["completion_ms"][:lead_in]
                    for samples in ("completion_ms", "first_response_ms"):
                        figures[samples] = figures[samples][lead_in:]
                runs.setdefault(bot.name, []).append(run)


def _distinct_presses(
    cards: list[tuple[str, str]], pressers: list[str]
) -> Iterator[dict[str, str]]:
    """Round ``r`` presses every card once, card ``c`` by presser ``(c + r) % P``: no member
    presses one card twice in the first ``len(pressers)`` rounds."""
    for round_ in range(len(pressers)):
        for index, (message_id, custom_id) in enumerate(cards):
            presser = pressers[(index + round_) % len(pressers)]
            yield {"message_id": message_id, "custom_id": custom_id, "user_id": presser}


def _check_complete(what: str, run: Run) -> None:
    figures = run.figures
    if figures["failed"]:
        raise RuntimeError(f"{what}: {figures['failed']} of {figures['n']}: {figures['errors']}")


# -- report ---------------------------------------------------------------------------------


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def print_table(lines: list[Line], ingest: ingest_gateway.Measured | None) -> None:
    head = (
        f"{'':17}{'closed loop, completions/s':>27}{'1st resp. p99 ms':>18}"
        f"{'paced 50/s to completion, ms':>36}{'calls/ix':>11}{'CPU ms/ix':>26}   targets"
    )
    sub = (
        f"{'':17}{'coach':>9}{'bare':>9}{'ratio':>9}{'coach':>9}{'bare':>9}"
        f"{'coach p50/p99':>18}{'bare p50/p99':>14}{'p99 ×':>7}"
        f"{'coach':>6}{'bare':>5}{'coach':>7}{'bare':>6}{'emu':>7}{'db':>6}"
    )
    print(head)
    print(sub)
    for line in lines:
        print(_command_line(line, "coach"))
        if SQLITE_TWIN in line.closed:
            print(_command_line(line, SQLITE_TWIN))
    if ingest is not None:
        print(_ingest_line(ingest))
    twinned = [line for line in lines if SQLITE_TWIN in line.closed]
    if twinned:
        print(
            "\nPostgreSQL against SQLite in this run (each one's throughput ratio to the bare bot, "
            f"divided; target ≥ {TARGET_POSTGRES_SHARE}):"
        )
        for line in twinned:
            postgres = _throughput_ratio(line, "coach")
            share = _ratio(postgres, _throughput_ratio(line, SQLITE_TWIN))
            verdict = "met" if share >= TARGET_POSTGRES_SHARE else "NOT met"
            print(f"  {line.hot.label:17}{share:6.2f}   {verdict}")


def _completed(runs: list[Run]) -> int:
    return max(1, sum(int(run.figures["completed"]) for run in runs))


def _calls_per_interaction(runs: list[Run]) -> float:
    """Over all of a bot's closed-loop rounds."""
    return sum(run.calls for run in runs) / _completed(runs)


def _cpu_ms_per_interaction(runs: list[Run], process: str) -> float:
    """Over all of a bot's closed-loop rounds."""
    return sum(run.cpu[process] for run in runs) * 1000 / _completed(runs)


def _pooled(runs: list[Run], what: str, q: float) -> float:
    """A percentile of every round's samples together."""
    return percentile([value for run in runs for value in run.figures[what]], q)


def write_samples(lines: list[Line], path: Path) -> None:
    samples = {
        line.hot.key: {
            name: [
                {
                    "started_at": run.figures["started_at"],
                    "first_response_ms": run.figures["first_response_ms"],
                    "completion_ms": run.figures["completion_ms"],
                }
                for run in runs
            ]
            for name, runs in line.paced.items()
        }
        for line in lines
    }
    path.write_text(json.dumps(samples))


def _throughput_ratio(line: Line, name: str) -> float:
    """The median over rounds of ``name``'s closed-loop throughput over the bare bot's."""
    rates = {bot: [run.figures["throughput"] for run in line.closed[bot]] for bot in (name, "bare")}
    return statistics.median(
        _ratio(coach, bare) for coach, bare in zip(rates[name], rates["bare"], strict=True)
    )


def _command_line(line: Line, name: str) -> str:
    """``name``'s line: PLN Coach (``coach``) or its SQLite twin."""
    closed, paced = line.closed, line.paced
    coach_rate = statistics.median(run.figures["throughput"] for run in closed[name])
    bare_rate = statistics.median(run.figures["throughput"] for run in closed["bare"])
    ratio = _throughput_ratio(line, name)
    first = {bot: _pooled(paced[bot], "first_response_ms", 0.99) for bot in (name, "bare")}
    p50 = {bot: _pooled(paced[bot], "completion_ms", 0.50) for bot in (name, "bare")}
    p99 = {bot: _pooled(paced[bot], "completion_ms", 0.99) for bot in (name, "bare")}
    p99_ratio = _ratio(p99[name], p99["bare"])
    missed = []
    if not ratio >= TARGET_THROUGHPUT:
        missed.append("throughput")
    if not first[name] <= TARGET_FIRST_P99_MS:
        missed.append("1st response")
    if not p99_ratio <= TARGET_PACED_P99_RATIO:
        missed.append("paced p99")
    verdict = "met" + (f" (aim {AIM_THROUGHPUT}× too)" if ratio >= AIM_THROUGHPUT else "")
    label = line.hot.label if name == "coach" else "  on SQLite"
    database = "—" if name == SQLITE_TWIN else _database_cpu(closed[name])
    return (
        f"{label:17}{coach_rate:9.1f}{bare_rate:9.1f}{ratio:8.2f}×"
        f"{first[name]:9.1f}{first['bare']:9.1f}"
        f"{p50[name]:9.0f}/{p99[name]:<8.0f}{p50['bare']:6.0f}/{p99['bare']:<7.0f}"
        f"{p99_ratio:6.2f}×{_calls_per_interaction(closed[name]):6.1f}"
        f"{_calls_per_interaction(closed['bare']):5.1f}"
        f"{_cpu_ms_per_interaction(closed[name], name):7.1f}"
        f"{_cpu_ms_per_interaction(closed['bare'], 'bare'):6.1f}"
        f"{_cpu_ms_per_interaction(closed[name], 'emulator'):7.1f}"
        f"{database:>6}"
        f"   {'NOT met: ' + ', '.join(missed) if missed else verdict}"
    )


def _database_cpu(runs: list[Run]) -> str:
    if any("database" not in run.cpu for run in runs):
        return "—"
    return f"{_cpu_ms_per_interaction(runs, 'database'):.1f}"


def _ingest_line(measured: ingest_gateway.Measured) -> str:
    coach, bare = measured.outcomes()
    # Sustained rates need heartbeats on both sides of the stream's 10% and 90%; a short stream
    # read in a few seconds may not have them, and then both bots' overall rates (first event
    # sent to last processed) are compared instead, marked with *.
    whole = coach.window is None or bare.window is None
    coach_rate = coach.overall if whole or coach.window is None else coach.window.rate
    bare_rate = bare.overall if whole or bare.window is None else bare.window.rate
    ratio = _ratio(coach_rate, bare_rate)
    traces = measured.traces
    per_event = {name: traces[name].cpu * 1000 / traces[name].total for name in ("coach", "bare")}
    # The emulator fed the stream to both bots.
    fed = traces["coach"].total + traces["bare"].total
    per_event["emulator"] = traces["emulator"].cpu * 1000 / fed
    verdict = "met" if ratio >= TARGET_THROUGHPUT else "NOT met: throughput"
    return (
        f"{'ingestion (ev/s)' + ('*' if whole else ''):17}{coach_rate:9.0f}{bare_rate:9.0f}"
        f"{ratio:8.2f}×"
        f"{'—':>9}{'—':>9}{'— (no Discord call)':>36}{'0':>6}{'0':>5}"
        f"{per_event['coach']:7.2f}{per_event['bare']:6.2f}{per_event['emulator']:7.2f}{'—':>6}"
        f"   {verdict}"
    )


def print_lead_ins(lines: list[Line]) -> None:
    """Each paced round's first interaction, the one after the quiet between loads."""
    if not any("lead_in_ms" in run.figures for line in lines for run in line.paced["bare"]):
        return
    print(
        "\nfirst interaction of each paced round, after the quiet between loads (not counted "
        "above), ms to completion:"
    )
    for line in lines:
        shown = []
        for name, runs in line.paced.items():
            firsts = ", ".join(f"{run.figures['lead_in_ms'][0]:.1f}" for run in runs)
            shown.append(f"{_BOT_NAMES.get(name, name)} {firsts}")
        print(f"  {line.hot.label:17}" + "   ".join(shown))


_BOT_NAMES = {"coach": "PLN Coach", "bare": "bare", SQLITE_TWIN: "PLN Coach on SQLite"}


def print_notes(lines: list[Line], show_calls: bool) -> None:
    """Whatever the table hides: calls that differ, failures, answers edited again, refusals."""
    for line in lines:
        bare = line.probes["bare"]
        for name, coach in line.probes.items():
            if name == "bare":
                continue
            who = "PLN Coach" + (" on SQLite" if name == SQLITE_TWIN else "")
            if show_calls:
                print(f"{line.hot.label} calls, {who}: " + " → ".join(coach))
            if Counter(coach) != Counter(bare):
                print(f"! {line.hot.label}: {who} made {coach}, the bare bot {bare}")
            if coach and not TOKEN_CALL.match(coach[-1]):
                print(f"! {line.hot.label}: {who}'s last call was {coach[-1]}, not its answer")
        if show_calls:
            print(f"{line.hot.label} calls, bare: " + " → ".join(bare))
        every = [("closed", name, run) for name, runs in line.closed.items() for run in runs]
        every += [("paced", name, run) for name, runs in line.paced.items() for run in runs]
        for shape, name, run in every:
            figures = run.figures
            problems = []
            if figures["failed"]:
                problems.append(f"{figures['failed']} failed {figures['errors']}")
            if figures["extra_answers"]:
                problems.append(f"{figures['extra_answers']} answers edited again")
            if figures["refused_calls"]:
                problems.append(f"{figures['refused_calls']} calls refused")
            if problems:
                print(f"! {line.hot.label} {shape} ({name}): " + "; ".join(problems))


def print_log_summary(log_path: Path, who: str = "PLN Coach") -> None:
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # the log's colours
    levels = Counter(m.group(1) for m in re.finditer(r"\b(WARNING|ERROR|CRITICAL)\b", text))
    print(
        f"{who}'s log: "
        + (", ".join(f"{count} {level}" for level, count in levels.items()) or "no warnings")
    )
    for entry in [ln for ln in text.splitlines() if "ERROR" in ln or "CRITICAL" in ln][:5]:
        print(f"  {entry[:200]}")


async def run(args: argparse.Namespace) -> None:
    chosen = [hot for hot in HOT if hot.key in args.only]
    lines: list[Line] = []
    backend = "PostgreSQL" if args.database_url else "SQLite"
    with tempfile.TemporaryDirectory() as folder:
        database_url = args.database_url or f"sqlite+aiosqlite:///{Path(folder) / 'coach.sqlite3'}"
        if chosen:
            limits = () if args.discord_limits else ("--relaxed-limits",)
            global_limit = 50 if args.discord_limits else UNPACED
            emulator = EmulatorProcess(*limits, "--global-rate-limit", str(global_limit))
            await emulator.start()
            coach = bare = twin = None
            # On PostgreSQL a twin on SQLite runs in the same rounds: this machine's speed
            # drifts by a third between runs, so only one run compares the two databases.
            urls = {"coach": database_url}
            if args.database_url:
                urls[SQLITE_TWIN] = f"sqlite+aiosqlite:///{Path(folder) / 'twin' / 'coach.sqlite3'}"
            try:
                world = await emulator.call("POST", "/world", world_spec(SQLITE_TWIN in urls))
                apps = world["applications"]
                coaches = {}
                for name, url in urls.items():
                    (Path(folder) / name).mkdir()
                    coaches[name] = CoachProcess(
                        Path(folder) / name,
                        emulator,
                        apps[name]["token"],
                        url,
                        requests_per_second=None if args.discord_limits else UNPACED,
                    )
                coach, twin = coaches["coach"], coaches.get(SQLITE_TWIN)
                bare = BareBotProcess(emulator, apps["bare"]["token"], with_commands=True)
                for process in coaches.values():
                    await process.start()
                await bare.start()
                await emulator.wait_for_sessions(len(coaches) + 1)
                bench = HotBench(emulator, world)
                bench.bots = {
                    "bare": Bot("bare", apps["bare"]["id"], bare, "bare:useful:"),
                    **{
                        name: Bot(name, apps[name]["id"], process, "pln:resource:useful:")
                        for name, process in coaches.items()
                    },
                }
                bench.pids.update(bare=bare.pid, **{n: p.pid for n, p in coaches.items()})
                bench.count_database_server = bool(args.database_url)
                for bot in bench.bots.values():
                    await bench.wait_for_commands(bot)
                print(
                    f"processes: emulator {emulator.pid}, PLN Coach {coach.pid}, "
                    f"bare bot {bare.pid}; {backend}"
                    + (f"; PLN Coach on SQLite {twin.pid}" if twin is not None else ""),
                    flush=True,
                )
                await bench.warm_up()
                if args.database_url:
                    await gather_statistics(args.database_url)
                for hot in chosen:
                    print(f"measuring {hot.label}…", flush=True)
                    lines.append(await bench.measure(hot, args.n, args.paced_n))
            finally:
                for stoppable in (coach, twin, bare):
                    if stoppable is not None:
                        await stoppable.stop()
                await emulator.stop()
                if coach is not None and args.log is not None:
                    shutil.copy(coach.log_path, args.log)
        ingest = None
        if INGEST in args.only:
            if args.database_url:
                print("passive ingestion: SQLite only (bench.ingest_gateway reads its ledger)")
            else:
                print(f"measuring passive ingestion ({args.events:,} events)…", flush=True)
                ingest = await ingest_gateway.measure(args.events, None, 600, None)
        limit_note = "Discord's rate limits" if args.discord_limits else "rate limits lifted"
        print(
            f"\nPLN Coach vs a bare discord.py bot making the same Discord calls; {backend}; "
            f"{os.cpu_count()} cores; {limit_note}; closed loop {args.n} ({IN_FLIGHT} in flight), "
            f"paced {args.paced_n} at {RATE:.0f}/s\n"
        )
        print_table(lines, ingest)
        print_lead_ins(lines)
        if args.samples is not None:
            write_samples(lines, args.samples)
        print(
            f"\ntargets: throughput ≥ {TARGET_THROUGHPUT}× bare (aim {AIM_THROUGHPUT}×), first "
            f"response p99 ≤ {TARGET_FIRST_P99_MS:.0f} ms (paced), paced p99 ≤ "
            f"{TARGET_PACED_P99_RATIO}× bare's. calls/ix: Discord calls per interaction under "
            "load; CPU ms/ix: each bot's process in its closed loop, the emulator's and "
            "PostgreSQL's server's (db) in PLN Coach's (per event for ingestion). ingestion*: "
            "overall rates (first event sent to last processed), the stream being too short "
            "for sustained ones; make bench-ingest measures 100,000 events."
        )
        print_notes(lines, args.calls)
        if chosen and coach is not None:
            print_log_summary(coach.log_path)
        if chosen and twin is not None:
            print_log_summary(twin.log_path, "PLN Coach on SQLite")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1200, help="closed-loop interactions per bot")
    parser.add_argument("--paced-n", type=int, default=1500, help="paced interactions per bot")
    parser.add_argument(
        "--only",
        type=lambda text: [part.strip() for part in text.split(",")],
        default=CHOICES,
        help=f"a comma-separated subset of {','.join(CHOICES)}",
    )
    parser.add_argument("--database-url", help="PLN Coach's database (default: a SQLite file)")
    parser.add_argument("--events", type=int, default=INGEST_EVENTS, help="ingestion stream")
    parser.add_argument("--calls", action="store_true", help="print each bot's probe calls")
    parser.add_argument(
        "--discord-limits",
        action="store_true",
        help="keep Discord's rate limits (50 requests/s per bot) and PLN Coach's own pacing",
    )
    parser.add_argument("--log", type=Path, help="keep PLN Coach's log there")
    parser.add_argument("--samples", type=Path, help="keep every paced sample there (JSON)")
    args = parser.parse_args()
    unknown = set(args.only) - set(CHOICES)
    if unknown:
        parser.error(f"unknown in --only: {', '.join(sorted(unknown))}; choose from {CHOICES}")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
