"""Passive ingestion through the gateway: PLN Coach against a bare discord.py bot, in one run.

Three processes besides this one: the emulator (``python -m emulator``), the real PLN Coach
(``python -m bot run`` on a fresh SQLite file) and a bare discord.py bot with the same intents
whose handlers only count (``bench._bare_bot``). Both bots are in one server and receive the same
gateway events: r/AskAcademia's history as member actions (``bench._gateway_stream``: questions,
threads started from them, messages and replies in the threads, the asker's 👍 on each answer),
about 115,000 events in all. The emulator prepares the whole stream first, then feeds it twice,
to a fresh pair of bots each time:

1. **as fast as each bot reads its websocket**: how many events a second each can take, and the
   ratio of PLN Coach's to the bare bot's;
2. **paced on the data set's own rhythm** (its quiet spells and bursts), scaled to an average
   of ``--rate`` events/s (default 3,000: 1.5x the issue's floor): whether PLN Coach keeps up with
   what arrives, or its backlog grows.

Run 1 cannot answer run 2's question: fed as fast as it reads, a bot that stores what it reads
is behind a bot that only parses it by construction, and its backlog fills up to the bound its
back-pressure sets (``bot.services.ingest``), at a moment that depends on when the bare bot
finishes and leaves PLN Coach both cores. The verdict on "no growing backlog" comes from run 2.

What is measured, per bot, over time: events *received* (the sequence number in the bot's own
heartbeats, which the emulator asks for every second) and events *processed*:

- bare bot: events its handlers ran for (it reports its count every 0.1 s);
- PLN Coach: events *stored*: the ledger rows in the database, polled every 0.1 s. Each row
  is mapped back to the position in the stream of the event that caused it; as the gateway and
  the ingest keep the stream's order, everything up to the newest stored row's event counts as
  processed (events that store nothing, like a question outside a thread, count when an event
  after them is stored). At the end every expected row must be there.

**Sustained** events/s: what a bot processed while the stream was coming in, from the moment it
had received 10 % of the stream to the moment it had received 90 %, divided by that time
(``bench._rates``). This leaves out the warm-up and the tail, and counts nothing a bot merely
buffered: events stored after the stream stopped arriving are in the overall rate (first event
sent to last processed), not in the sustained one. **Backlog**: events received minus events
processed, sampled through that window; it *grows* when its fitted trend adds more than one
second of arriving events across the window. PLN Coach *keeps up* in run 2 when its backlog does
not grow and it stores at least 95 % of what the emulator delivered (the bare bot's rate: on 2
cores the emulator may deliver a little less than asked). CPU seconds per process come from
/proc. The other processes on the machine share its 2 cores: compare the two bots' figures of
one run.

    python -m bench.ingest_gateway [--events 100000] [--rate 3000] [--only fast|paced]
        [--timeline] [--log PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._gateway_stream import CHANNEL, Stream, askacademia_stream, resolve, row_keys
from bench._processes import BareBotProcess, CoachProcess, EmulatorProcess
from bench._rates import Backlog, Window, backlog, sustained, value_at
from bot.invite import INVITE_PERMISSIONS

POLL = 0.1
HEARTBEAT_MS = 1000  # the bots' heartbeats say what they have read: once a second
TARGET_RATIO, TARGET_RATE = 0.5, 2000
PACED_RATE = 1.5 * TARGET_RATE


def world_spec(stream: Stream) -> dict[str, Any]:
    """The server: every author a member, one channel, both bots invited like PLN Coach."""
    authors = list(stream.authors)
    bots = [
        {"application": app, "permissions": INVITE_PERMISSIONS.value} for app in ("coach", "bare")
    ]
    return {
        "applications": [
            {"key": "coach", "name": "PLN Coach"},
            {"key": "bare", "name": "Bare Bot"},
        ],
        "users": [{"key": name, "username": name} for name in authors],
        "guilds": [
            {
                "key": "community",
                "name": "AskAcademia",
                "owner": authors[0],
                "channels": [{"key": CHANNEL, "name": CHANNEL}],
                "members": [{"user": name} for name in authors],
                "bots": bots,
            }
        ],
    }


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime, stime in clock ticks (USER_HZ)


class LedgerWatch:
    """Follows PLN Coach's ledger: new rows since the last look, mapped to stream positions."""

    def __init__(self, path: Path, positions: Mapping[str, int]) -> None:
        self._path = path
        self._positions = positions
        self.expected = len(positions)
        self._last_id = 0
        self.rows = 0
        self.unexpected = 0
        self.processed = 0

    def look(self) -> None:
        # A connection per look: nothing of this reader lingers between looks (no snapshot kept).
        with contextlib.closing(sqlite3.connect(f"file:{self._path}?mode=ro", uri=True)) as db:
            found = db.execute(
                "SELECT id, dedupe_key FROM activity_events WHERE id > ? ORDER BY id",
                (self._last_id,),
            ).fetchall()
        for row_id, key in found:
            self._last_id = row_id
            self.rows += 1
            position = self._positions.get(key)
            if position is None:
                self.unexpected += 1
            else:
                self.processed = max(self.processed, position)


@dataclass
class Trace:
    """What one bot did during the feed."""

    name: str
    total: int
    processed: list[tuple[float, float]] = field(default_factory=list)
    received: list[tuple[float, float]] = field(default_factory=list)
    cpu: float = 0.0

    @property
    def done(self) -> bool:
        return bool(self.processed) and self.processed[-1][1] >= self.total


@dataclass(frozen=True)
class Outcome:
    trace: Trace
    window: Window | None
    overall: float
    backlog: Backlog | None


def outcome(trace: Trace, started: float) -> Outcome:
    window = sustained(trace.received, trace.processed, trace.total)
    finished = next((t for t, count in trace.processed if count >= trace.total), None)
    overall = trace.total / (finished - started) if finished else 0.0
    lag = backlog(trace.received, trace.processed, window) if window else None
    return Outcome(trace, window, overall, lag)


async def feed_and_watch(
    emulator: EmulatorProcess,
    coach: CoachProcess,
    bare: BareBotProcess,
    ledger: LedgerWatch,
    traces: dict[str, Trace],
    sessions: Mapping[str, str],
    speed: float | None,
    within: float,
) -> float:
    """Start the feed and sample everyone until both bots processed it all; returns the start."""
    pids = {"emulator": emulator.pid, "coach": coach.pid, "bare": bare.pid}
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    bare_before = bare.events
    started = time.monotonic()
    await emulator.call("POST", "/feeds/1/start", {"speed": speed})
    coach_trace, bare_trace = traces["coach"], traces["bare"]
    while not (coach_trace.done and bare_trace.done and ledger.rows >= ledger.expected):
        coach.check_alive()
        if time.monotonic() - started > within:
            raise TimeoutError(f"not everything was processed after {within} s")
        await asyncio.sleep(POLL)
        stats = await emulator.call("GET", "/feeds/1")
        for session in stats["sessions"]:
            received = traces[sessions[session["session_id"]]].received
            beat = (session["read_at"], session["read"])
            if (
                beat[0] is not None
                and beat[0] >= started
                and (not received or received[-1] != beat)
            ):
                received.append(beat)
        await asyncio.to_thread(ledger.look)
        coach_trace.processed.append((time.monotonic(), ledger.processed))
        bare_trace.processed = [(t, n - bare_before) for t, n in bare.samples if t >= started]
    for name, pid in pids.items():
        cpu = cpu_seconds(pid) - cpu_before[name]
        if name in traces:
            traces[name].cpu = cpu
        else:
            traces["emulator"] = Trace("emulator", 0, cpu=cpu)
    return started


@dataclass(frozen=True)
class Verdict:
    """What one run says about the targets."""

    ratio: float
    coach_rate: float
    grows: bool
    kept_up: bool


def report(
    stream: Stream,
    traces: dict[str, Trace],
    started: float,
    ledger: LedgerWatch,
    rate: float | None,
) -> Verdict:
    coach, bare = outcome(traces["coach"], started), outcome(traces["bare"], started)
    counts = stream.counts
    fed = "as fast as each bot reads" if rate is None else f"paced at {rate:,.0f}/s on average"
    print(
        f"\nPassive ingestion through the gateway, {fed}: {traces['coach'].total:,} events per "
        f"bot (r/AskAcademia: {counts['threads']:,} questions with threads, "
        f"{counts['messages']:,} messages in them of which {counts['replies']:,} replies, "
        f"{counts['reactions']:,} reactions); SQLite; {os.cpu_count()} cores\n"
    )
    header = (
        f"{'':22}{'sustained/s':>12}{'overall/s':>11}{'window (s)':>13}"
        f"{'backlog start / mid / end / peak':>36}{'trend/s':>9}{'grows':>7}{'CPU s':>7}"
    )
    print(header)
    for label, result in (("bare discord.py", bare), ("PLN Coach (stored)", coach)):
        print(_line(label, result))
    print(f"{'emulator':22}{'':>12}{'':>11}{'':>13}{'':>36}{'':>9}{'':>7}"
          f"{traces['emulator'].cpu:7.1f}")  # fmt: skip
    coach_rate = coach.window.rate if coach.window else 0.0
    bare_rate = bare.window.rate if bare.window else 0.0
    ratio = coach_rate / bare_rate if bare_rate else 0.0
    grows = coach.backlog is None or coach.backlog.grows
    kept_up = bare_rate > 0 and coach_rate >= 0.95 * bare_rate and not grows
    print(f"\nratio PLN Coach / bare (sustained): {ratio:.2f}×", end="   ")
    if rate is None:
        print(f"(≥ {TARGET_RATIO}× and ≥ {TARGET_RATE:,}/s wanted)")
    else:
        print(f"PLN Coach {'kept up' if kept_up else 'fell behind'}")
    print(
        f"ledger: {ledger.rows:,} rows stored of {ledger.expected:,} expected "
        f"({ledger.unexpected} unexpected)"
    )
    return Verdict(ratio, coach_rate, grows, kept_up)


def verdict(fast: Verdict | None, paced: Verdict | None, rate: float) -> None:
    """The issue's target over both runs: speed from the first, keeping up from the second."""
    parts: list[tuple[str, bool]] = []
    if fast is not None:
        parts.append((f"≥ {TARGET_RATIO}× the bare bot at full speed", fast.ratio >= TARGET_RATIO))
        parts.append((f"≥ {TARGET_RATE:,}/s at full speed", fast.coach_rate >= TARGET_RATE))
    if paced is not None:
        parts.append((f"no growing backlog at {rate:,.0f}/s", paced.kept_up))
    print("\ntarget: " + "; ".join(f"{what}: {'met' if ok else 'NOT met'}" for what, ok in parts))


def timeline(traces: dict[str, Trace], started: float, step: float = 2.0) -> None:
    """Each bot's progress every ``step`` seconds: received (by heartbeat) and processed."""
    coach, bare = traces["coach"], traces["bare"]
    end = max(coach.processed[-1][0], bare.processed[-1][0])
    columns = ("bare received", "bare counted", "coach received", "coach stored")
    print(f"\n{'s':>5}" + "".join(f"{name:>16}" for name in columns))
    moment = started
    while moment <= end + step:
        print(
            f"{moment - started:5.0f}{value_at(bare.received, moment):16,.0f}"
            f"{value_at(bare.processed, moment):16,.0f}{value_at(coach.received, moment):16,.0f}"
            f"{value_at(coach.processed, moment):16,.0f}"
        )
        moment += step


def _line(label: str, result: Outcome) -> str:
    window, lag = result.window, result.backlog
    if window is None or lag is None:
        return f"{label:22}{'—':>12}"
    lags = f"{lag.start:,.0f} / {lag.middle:,.0f} / {lag.end:,.0f} / {lag.peak:,.0f}"
    return (
        f"{label:22}{window.rate:12,.0f}{result.overall:11,.0f}{window.end - window.start:13.1f}"
        f"{lags:>36}{lag.trend:+9.0f}{'yes' if lag.grows else 'no':>7}{result.trace.cpu:7.1f}"
    )


@dataclass(frozen=True)
class Measured:
    """One feed of the stream to both bots, as ``report`` and ``bench.hot_commands`` read it."""

    stream: Stream
    traces: dict[str, Trace]
    started: float
    ledger: LedgerWatch

    def outcomes(self) -> tuple[Outcome, Outcome]:
        """PLN Coach's and the bare bot's."""
        coach = outcome(self.traces["coach"], self.started)
        bare = outcome(self.traces["bare"], self.started)
        return coach, bare


async def measure(
    events: int | None, rate: float | None, within: float, keep_log: Path | None
) -> Measured:
    """Start the three processes, feed the stream to both bots, and stop everything."""
    stream = askacademia_stream(events)
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "pln-coach.sqlite3"
        emulator = EmulatorProcess("--heartbeat-interval-ms", str(HEARTBEAT_MS))
        await emulator.start()
        coach = bare = None
        try:
            world = await emulator.call("POST", "/world", world_spec(stream))
            apps = world["applications"]
            coach = CoachProcess(
                Path(folder), emulator, apps["coach"]["token"], f"sqlite+aiosqlite:///{database}"
            )
            bare = BareBotProcess(emulator, apps["bare"]["token"])
            await coach.start()
            await bare.start()
            ready = await emulator.wait_for_sessions(2)
            names = {apps["coach"]["id"]: "coach", apps["bare"]["id"]: "bare"}
            sessions = {s["session_id"]: names[s["application_id"]] for s in ready}
            print(
                f"processes: emulator {emulator.pid}, PLN Coach {coach.pid}, bare bot {bare.pid}; "
                f"preparing {len(stream.actions):,} actions…",
                flush=True,
            )
            channel = world["guilds"]["community"]["channels"][CHANNEL]
            prepared = await emulator.call(
                "POST", "/feeds", {"actions": resolve(stream, world["users"], channel)}
            )
            traces: dict[str, Trace] = {}
            positions: dict[str, int] = {}
            for session_id, held in prepared["sessions"].items():
                name = sessions[session_id]
                frames_after = held["frames_after"]
                traces[name] = Trace(name, frames_after[-1])
                if name == "coach":
                    keys = row_keys(stream, prepared["ids"], world["users"])
                    positions = {k: frames_after[i] for i, k in enumerate(keys) if k is not None}
            ledger = LedgerWatch(database, positions)
            speed = None
            if rate is not None:
                span = max(float(stream.actions[-1]["at"]), 1.0)
                speed = span * rate / traces["coach"].total
            print(
                f"feeding {traces['coach'].total:,} events to each bot "
                f"{'as fast as it reads' if speed is None else f'at {rate:,.0f}/s'}…",
                flush=True,
            )
            started = await feed_and_watch(
                emulator, coach, bare, ledger, traces, sessions, speed, within
            )
            return Measured(stream, traces, started, ledger)
        finally:
            for process in (coach, bare):
                if process is not None:
                    await process.stop()
            await emulator.stop()
            if coach is not None and keep_log is not None:
                shutil.copy(coach.log_path, keep_log)


async def run(
    events: int | None,
    rate: float,
    only: str | None,
    within: float,
    show_timeline: bool,
    keep_log: Path | None,
) -> None:
    results: dict[str, Verdict] = {}
    for phase, speed in (("fast", None), ("paced", rate)):
        if only not in (None, phase):
            continue
        measured = await measure(events, speed, within, keep_log)
        results[phase] = report(
            measured.stream, measured.traces, measured.started, measured.ledger, speed
        )
        if show_timeline:
            timeline(measured.traces, measured.started)
    verdict(results.get("fast"), results.get("paced"), rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, help="stop the data set after about this many")
    parser.add_argument(
        "--rate", type=float, default=PACED_RATE, help="run 2: events/s on the data set's rhythm"
    )
    parser.add_argument("--only", choices=("fast", "paced"), help="one of the two runs")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--timeline", action="store_true", help="print progress every 2 s")
    parser.add_argument("--log", type=Path, help="keep PLN Coach's log there")
    args = parser.parse_args()
    asyncio.run(run(args.events, args.rate, args.only, args.timeout, args.timeline, args.log))


if __name__ == "__main__":
    main()
