"""Load from inside the emulator: members running one command over and over, timed at Discord.

A benchmark in another process asks for a load (``POST /load`` on the control API) and the
emulator runs it itself, so no fourth process and no HTTP hop per interaction sits between the
members and the bot. Two shapes:

- **closed loop**: ``in_flight`` members each start an interaction, wait for it to complete, and
  start the next, until ``n`` were started (throughput);
- **paced**: interaction ``i`` starts ``i / rate`` seconds after the first, whether or not the
  earlier ones completed, as members' commands arrive in production (latency).

Every interaction is timed from the moment its INTERACTION_CREATE is dispatched. Its **first
response** is its callback (the acknowledgement Discord wants within 3 s). It **completes** when
the bot makes its last Discord call for it. Which call is the last is not something the emulator
can know in general (a bot may post elsewhere afterwards), so it is settled per command by a
probe: one interaction with nothing else in flight, run with ``trace``, lists every call the bot
made for it: the token's own calls (callback, edits of the original answer, follow-ups: tied to
the interaction by the token in their path) and the bot's authenticated calls in the same time
(posting a card, opening a thread, looking a member up: not tied to one interaction, but alone in
flight they can only be its). When the probe shows the final answer as the last call, as it does
for PLN Coach's hot commands (they wait for their card or thread before editing the answer), then
under load the interaction completes at its ``answer_calls``-th token call (2: acknowledgement and
final answer), and its completion time is the last token call heard before the run settles (an
answer edited once more, e.g. "on its way" then "is up", completes at the later edit, and is
counted in ``extra_answers``).

A spec (JSON, ids as strings or numbers)::

    {"application_id": ..., "guild_id": ..., "channels": [...], "users": [...],
     "command": "share", "options": {"url": "https://example.org/{i}"} | [{...}, ...],
     "form": {"Your role": "..."} | [...],          # optional: answer the modal it opens
     "presses": [{"message_id", "custom_id", "user_id"}, ...],  # instead of "command"
     "n": 400, "in_flight": 16 | "rate": 50, "answer_calls": 2,
     "timeout": 30, "settle": 0.5, "trace": false}

Interaction ``i`` is run by ``users[i % len]`` in ``channels[i % len]`` with the options (or the
form answers) at ``i % len`` when a list, and ``{i}`` in any string replaced by ``i``.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .rest import RecordedRequest

if TYPE_CHECKING:
    from .emulator import DiscordEmulator
    from .interactions import Interaction

MODAL = 9
_TOKEN_ROUTES = ("/interactions/", "/webhooks/")
_ERRORS_KEPT = 5


class LoadSpecError(ValueError):
    """A load spec that cannot be run; the message names what is wrong."""


@dataclass(frozen=True)
class Press:
    message_id: int
    custom_id: str
    user_id: int


@dataclass(frozen=True)
class LoadSpec:
    application_id: int
    guild_id: int
    channels: tuple[int, ...]
    users: tuple[int, ...]
    command: str | None
    options: tuple[Mapping[str, Any], ...]
    forms: tuple[Mapping[str, Any], ...]
    presses: tuple[Press, ...]
    n: int
    in_flight: int | None
    rate: float | None
    answer_calls: int = 2
    timeout: float = 30.0
    settle: float = 0.5
    trace: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LoadSpec:
        try:
            presses = tuple(
                Press(int(p["message_id"]), str(p["custom_id"]), int(p["user_id"]))
                for p in data.get("presses") or ()
            )
            command = data.get("command")
            if (command is None) == (not presses):
                raise LoadSpecError('give either "command" or "presses"')
            in_flight = data.get("in_flight")
            rate = data.get("rate")
            if (in_flight is None) == (rate is None):
                raise LoadSpecError('give either "in_flight" (closed loop) or "rate" (paced)')
            spec = cls(
                application_id=int(data["application_id"]),
                guild_id=int(data.get("guild_id") or 0),
                channels=tuple(int(c) for c in data.get("channels") or ()),
                users=tuple(int(u) for u in data.get("users") or ()),
                command=None if command is None else str(command),
                options=_cycle(data.get("options")),
                forms=_cycle(data.get("form")),
                presses=presses,
                n=int(data.get("n") or len(presses)),
                in_flight=None if in_flight is None else int(in_flight),
                rate=None if rate is None else float(rate),
                answer_calls=int(data.get("answer_calls", 2)),
                timeout=float(data.get("timeout", 30.0)),
                settle=float(data.get("settle", 0.5)),
                trace=bool(data.get("trace", False)),
            )
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, LoadSpecError):
                raise
            raise LoadSpecError(f"load spec: {error!r}") from None
        if spec.command is not None and not (spec.channels and spec.users and spec.guild_id):
            raise LoadSpecError('a command needs "guild_id", "channels" and "users"')
        if spec.presses and spec.n > len(spec.presses):
            raise LoadSpecError(f"n is {spec.n} but only {len(spec.presses)} presses were given")
        if spec.n < 1 or (spec.in_flight is not None and spec.in_flight < 1):
            raise LoadSpecError("n and in_flight must be at least 1")
        if spec.rate is not None and spec.rate <= 0:
            raise LoadSpecError("rate must be positive")
        return spec


def _cycle(value: Any) -> tuple[Mapping[str, Any], ...]:
    if value is None:
        return ({},)
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, Mapping) for item in items):
        raise LoadSpecError("options and form must be an object or a list of objects")
    return tuple(items)


def _fill(template: Mapping[str, Any], index: int) -> dict[str, Any]:
    """The template with ``{i}`` in its strings replaced by the interaction's index."""
    return {
        key: value.replace("{i}", str(index)) if isinstance(value, str) else value
        for key, value in template.items()
    }


def _token_of(request: RecordedRequest) -> str | None:
    """The interaction token in a callback or webhook path (``/webhooks/{app}/{token}/...``)."""
    if not request.route.startswith(_TOKEN_ROUTES):
        return None
    parts = request.path.split("/")
    return parts[3] if len(parts) > 3 else None


@dataclass
class _Timing:
    """One interaction of the run: when it was dispatched and when the bot called for it."""

    index: int
    created_at: float
    calls: list[float] = field(default_factory=list)
    refused: int = 0
    answered: asyncio.Event = field(default_factory=asyncio.Event)


class LoadRun:
    """Runs one ``LoadSpec`` against the emulator; ``run()`` answers the figures as JSON."""

    def __init__(self, emulator: DiscordEmulator, spec: LoadSpec) -> None:
        self._emulator = emulator
        self._spec = spec
        self._timings: list[_Timing] = []
        self._by_token: dict[str, _Timing] = {}
        self._errors: Counter[str] = Counter()
        self._bot_calls: Counter[str] = Counter()
        self._token_calls = 0
        self._refused = 0
        self._last_call_at = 0.0
        self._trace: list[tuple[float, str, int]] = []
        self._started_at = 0.0
        self._collect_cpu = 0.0

    async def run(self) -> dict[str, Any]:
        # Discord's servers don't stop for a garbage collector; the emulator's did. Its world
        # grows with every message, and a full collection over it stopped every call for
        # 50-185 ms in the middle of a paced load, charged to whichever bot was measured. So
        # what exists before the load is collected now and kept out of the collector's sight
        # until the load ends: collections during the load only look at what it made. (Its
        # CPU is reported apart, for a benchmark that counts the emulator's CPU per load.)
        collecting = time.process_time()
        gc.collect()
        gc.freeze()
        self._collect_cpu = time.process_time() - collecting
        self._emulator.request_listeners.append(self._heard)
        try:
            self._started_at = time.monotonic()
            if self._spec.in_flight is not None:
                await self._closed_loop(self._spec.in_flight)
            else:
                assert self._spec.rate is not None
                await self._paced(self._spec.rate)
            await self._settle()
        finally:
            self._emulator.request_listeners.remove(self._heard)
            gc.unfreeze()
        return self._figures()

    # -- starting interactions -------------------------------------------------------------

    async def _closed_loop(self, in_flight: int) -> None:
        indexes = iter(range(self._spec.n))

        async def member() -> None:
            for index in indexes:
                await self._one(index)

        await asyncio.gather(*(member() for _ in range(min(in_flight, self._spec.n))))

    async def _paced(self, rate: float) -> None:
        waits = []
        first = time.monotonic()
        for index in range(self._spec.n):
            await asyncio.sleep(max(0.0, first + index / rate - time.monotonic()))
            waits.append(asyncio.create_task(self._one(index)))
        await asyncio.gather(*waits)

    async def _one(self, index: int) -> None:
        """Start interaction ``index`` and wait until the bot answered it (or gave up)."""
        try:
            interaction = await self._start(index)
        except Exception as error:  # a refusal the member's client would show: count it
            self._errors[f"not started: {error}"] += 1
            return
        timing = _Timing(index, interaction.created_at)
        self._timings.append(timing)
        self._by_token[interaction.token] = timing
        try:
            await asyncio.wait_for(timing.answered.wait(), self._spec.timeout)
        except TimeoutError:
            self._errors[f"no final answer within {self._spec.timeout} s"] += 1

    async def _start(self, index: int) -> Interaction:
        spec = self._spec
        if spec.presses:
            press = spec.presses[index]
            return await self._emulator.press_button(
                press.message_id, press.custom_id, press.user_id
            )
        assert spec.command is not None
        user = spec.users[index % len(spec.users)]
        channel = spec.channels[index % len(spec.channels)]
        interaction = await self._emulator.run_slash_command(
            spec.guild_id,
            channel,
            user,
            spec.command,
            _fill(spec.options[index % len(spec.options)], index),
            application_id=spec.application_id,
        )
        if spec.forms == ({},):
            return interaction
        # The command opens a form: the member fills it in, and the submission is what is timed.
        response = await interaction.wait_response(timeout=spec.timeout)
        if response.type != MODAL:
            raise ValueError(f"/{spec.command} answered {response.type}, not a form")
        form = _fill(spec.forms[index % len(spec.forms)], index)
        return await self._emulator.submit_modal(interaction, form)

    # -- hearing the bot's calls -----------------------------------------------------------

    def _heard(self, request: RecordedRequest) -> None:
        token = _token_of(request)
        timing = self._by_token.get(token) if token is not None else None
        if timing is None and request.application_id != self._spec.application_id:
            return
        if self._spec.trace:
            self._trace.append((request.at, f"{request.method} {request.route}", request.status))
        if request.status >= 400:
            self._refused += 1
        if timing is None:
            self._bot_calls[f"{request.method} {request.route}"] += 1
            return
        self._token_calls += 1
        self._last_call_at = request.at
        if request.status >= 400:
            timing.refused += 1
            return
        timing.calls.append(request.at)
        if len(timing.calls) >= self._spec.answer_calls:
            timing.answered.set()

    async def _settle(self) -> None:
        """Wait until no interaction of this run has heard a call for ``settle`` seconds, so an
        answer edited once more is timed at its last edit."""
        while True:
            quiet = time.monotonic() - max(self._last_call_at, self._started_at)
            if quiet >= self._spec.settle:
                return
            await asyncio.sleep(self._spec.settle - quiet)

    # -- figures ---------------------------------------------------------------------------

    def _figures(self) -> dict[str, Any]:
        completed = [t for t in self._timings if len(t.calls) >= self._spec.answer_calls]
        ended_at = max((t.calls[-1] for t in completed), default=self._started_at)
        wall = ended_at - self._started_at
        figures: dict[str, Any] = {
            "n": self._spec.n,
            "completed": len(completed),
            "failed": self._spec.n - len(completed),
            "errors": dict(self._errors.most_common(_ERRORS_KEPT)),
            "wall_s": wall,
            "throughput": len(completed) / wall if wall > 0 else 0.0,
            "first_response_ms": [(t.calls[0] - t.created_at) * 1000 for t in completed],
            "completion_ms": [(t.calls[-1] - t.created_at) * 1000 for t in completed],
            "extra_answers": sum(len(t.calls) > self._spec.answer_calls for t in completed),
            "token_calls": self._token_calls,
            "bot_calls": dict(self._bot_calls.most_common()),
            "refused_calls": self._refused,
            "started_at": self._started_at,
            "ended_at": ended_at,
            "collect_cpu_s": self._collect_cpu,
        }
        if self._spec.trace:
            origin = min((t.created_at for t in self._timings), default=self._started_at)
            figures["trace"] = [
                [round((at - origin) * 1000, 2), call, status] for at, call, status in self._trace
            ]
        return figures
