"""The CPU the hot commands' domain services cost per call, without Discord or the emulator.

``make bench`` measures whole commands, and its run-to-run noise on this machine (±15–50%) is
larger than most single changes to a service. This drives the services the hot commands call
(``SuggestionService.suggest`` for /connect suggest, ``CoachService.next_action_for`` for the
step in /progress, ``ProgressService.progress``, ``AskService.route`` for /ask, and the writes
of /share, /ask and the Useful button) one call at a time on the world ``make bench`` builds
(120 members introduced as its four kinds of teacher, 300 shares, 300 asks), and prints this
process's CPU per call, the best of three rounds; on PostgreSQL the server's CPU per call too.
A write's CPU includes its commit (on SQLite, on a thread of this process).

    python -m bench.service_cpu [--n 2000] [--database-url postgresql+asyncpg://…/bench]

Give PostgreSQL a database of its own: it is filled with the world first (and not emptied).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.hot_commands import HOT, INTROS, Hot, database_server_cpu, database_server_cpu_since
from bot.db import Database, utcnow
from bot.db.migrate import upgrade
from bot.services.answers import AnswerTicket
from bot.services.asks import parse_ask
from bot.services.interests import IntroAnswers
from bot.services.members import Actor
from bot.services.share_input import ShareInput, parse_share
from bot.wiring import Services, build_services

SERVER = 1
MEMBERS = 120
SHARES = ASKS = 300
CHANNEL = 5


def _actor(user_id: int) -> Actor:
    return Actor(SERVER, "Educators", user_id, f"Member {user_id}")


def _hot(key: str) -> Hot:
    return next(hot for hot in HOT if hot.key == key)


def _ticket() -> AnswerTicket:
    return AnswerTicket.for_interaction(
        application_id=4242, channel_id=CHANNEL, token="t", created_at=utcnow(), owner="bench"
    )


_SHARE = _hot("share").options("service-cpu")


def _link(i: int) -> ShareInput:
    """The ``i``-th distinct link, shared with make bench's tags."""
    return parse_share(_SHARE["url"].format(i=i), title="Fraction strips", tags=_SHARE["tags"])


async def build_world(services: Services) -> list[int]:
    """``make bench``'s intros, and shares and asks with its tags; the shares' resource ids."""
    for user_id in range(1, MEMBERS + 1):
        form = INTROS[user_id % len(INTROS)]
        await services.introductions.introduce(
            _actor(user_id),
            IntroAnswers(
                form["Your role"],
                form["Subjects"],
                form["Grade bands"],
                form["What I want to learn"],
                form["What I can help with"],
            ),
            channel_id=CHANNEL,
            answer=_ticket(),
        )
    ask = _hot("ask").options("service-cpu")
    resource_ids: list[int] = []
    for i in range(SHARES):
        shared = await services.sharing.share(
            _actor(1 + i % MEMBERS), CHANNEL, _link(i), answer=_ticket()
        )
        resource_ids.append(shared.resource.id)
    for i in range(ASKS):
        question = parse_ask(ask["question"].format(i=i), ask["tags"])
        await services.asks.ask(
            _actor(1 + i % MEMBERS), question, channel_id=CHANNEL, answer=_ticket()
        )
    return resource_ids


async def cpu_per_call(
    call: Callable[[int], Awaitable[object]], n: int, on_postgres: bool
) -> tuple[float, float]:
    """Microseconds of this process's CPU per call (and the database server's), the best of
    three rounds; each call for the next member in turn."""
    rounds = []
    for _ in range(3):
        server_before = database_server_cpu() if on_postgres else {}
        started = time.process_time()
        for i in range(n):
            await call(1 + i % MEMBERS)
        ours = (time.process_time() - started) / n * 1e6
        server = database_server_cpu_since(server_before) / n * 1e6 if on_postgres else 0.0
        rounds.append((ours, server))
    return min(rounds)


async def measure(url: str, n: int) -> None:
    database = Database(url)
    try:
        await upgrade(database)
        services = build_services(database)
        resource_ids = await build_world(services)
        progress = {
            user_id: await services.progress.progress(SERVER, user_id)
            for user_id in range(1, MEMBERS + 1)
        }
        question = parse_ask("How do you grade lab reports?", _hot("ask").options("q")["tags"])

        async def suggest(user_id: int) -> object:
            return await services.suggestions.suggest(SERVER, user_id, count=6)

        async def next_step(user_id: int) -> object:
            return await services.coach.next_action_for(progress[user_id])

        async def progress_read(user_id: int) -> object:
            return await services.progress.progress(SERVER, user_id)

        async def route(user_id: int) -> object:
            return await services.asks.route(_actor(user_id), question)

        # The writes, each call a new row as under load: a new link, an ask (whom to name
        # already chosen, as /ask routes before it stores), a mark no member made before.
        links = itertools.count(SHARES)
        marks = itertools.count()

        async def share_write(user_id: int) -> object:
            link = _link(next(links))
            return await services.sharing.share(_actor(user_id), CHANNEL, link, answer=_ticket())

        async def ask_write(user_id: int) -> object:
            return await services.asks.ask(
                _actor(user_id), question, channel_id=CHANNEL, answer=_ticket(), helpers=[]
            )

        async def useful_mark(_user_id: int) -> object:
            mark = next(marks)  # member m marks share s once: SHARES shares by MEMBERS members
            member, share_index = 1 + mark // SHARES % MEMBERS, mark % SHARES
            resource_id = resource_ids[share_index]
            return await services.sharing.mark_useful(_actor(member), resource_id, answer=_ticket())

        backend = "SQLite" if database.is_sqlite else "PostgreSQL"
        print(f"{backend}: CPU per call, µs (best of 3 rounds of {n})")
        for name, call in (
            ("suggest (/connect suggest)", suggest),
            ("next step (/progress)", next_step),
            ("progress read (/progress, /share)", progress_read),
            ("route (/ask)", route),
            ("share write (/share, a new link)", share_write),
            ("ask write (/ask, helpers chosen)", ask_write),
            ("useful mark (Useful button)", useful_mark),
        ):
            await call(1)
            ours, server = await cpu_per_call(call, n, on_postgres=not database.is_sqlite)
            server_text = f"; server {server:6.0f}" if not database.is_sqlite else ""
            print(f"  {name:36} bot {ours:6.0f}{server_text}", flush=True)
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(directory) / 'services.sqlite3'}"
        asyncio.run(measure(url, args.n))


if __name__ == "__main__":
    main()
