"""Answer first, whatever the database does: a lock held elsewhere, a server that never answers.

Every interaction is acknowledged within Discord's 3 s before the bot waits on the database, and
then completed or cleanly refused ("nothing was changed") within seconds; a refused change is
really not stored, and the member's retry works once the database is back.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.config import local_settings
from bot.db import ActivityEvent, Ask, Resource, Server
from emulator.interactions import Interaction
from tests.conftest import POSTGRES_URL, asyncpg_url, reset_postgres
from tests.e2e.conftest import BotProcess, Community
from tests.e2e.helpers import DEFERRED, answer_when, bot_posts, count_rows, run_command

NOTHING_CHANGED = "nothing was changed"
COULD_NOT_LOOK = "couldn't look that up"


async def _fire(
    community: Community, user_id: int, name: str, options: dict[str, Any]
) -> Interaction:
    return await community.emulator.run_slash_command(
        community.guild.id, community.general.id, user_id, name, options
    )


async def _press_useful(community: Community, user_id: int) -> Interaction:
    [card] = bot_posts(community, community.general.id)
    custom_id = card.components[0]["components"][0]["custom_id"]
    return await community.emulator.press_button(card.id, custom_id, user_id)


def _bot_on(community: Community, database_url: str) -> BotProcess:
    emu = community.emulator
    return BotProcess(
        local_settings(
            token=community.app.token,
            api_base_url=emu.api_base_url,
            gateway_url=emu.gateway_url,
            database_url=database_url,
        )
    )


def _acknowledged_in_time(ix: Interaction) -> bool:
    return (
        ix.response is not None
        and ix.response.type == DEFERRED
        and ix.responded_at is not None
        and ix.responded_at - ix.created_at < 3.0
    )


def _settled(content: str) -> bool:
    return bool(content) and "thinking" not in content


async def test_a_write_lock_held_by_another_process_for_10_s(
    community: Community, tmp_path: Path
) -> None:
    path = tmp_path / "locked.sqlite3"
    process = _bot_on(community, f"sqlite+aiosqlite:///{path}")
    bot = await process.start()
    try:
        await run_command(community, community.ana.id, "share", {"url": "https://a.org/first"})
        holder = subprocess.Popen(  # noqa: ASYNC220 - started once, waited for below
            [
                sys.executable,
                "-c",
                "import sqlite3, sys, time\n"
                f"db = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
                "db.execute('BEGIN IMMEDIATE')\n"
                "print('locked', flush=True)\n"
                "time.sleep(10)\n"
                "db.execute('ROLLBACK')\n",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None
        assert await asyncio.to_thread(holder.stdout.readline) == "locked\n"

        started = asyncio.get_running_loop().time()
        share, useful, setting, asked, progress, suggest = await asyncio.gather(
            _fire(community, community.ben.id, "share", {"url": "https://a.org/during"}),
            _press_useful(community, community.ben.id),
            _fire(
                community,
                community.admin.id,
                "pln shares-channel",
                {"channel": community.resources.id},
            ),
            # Reads whom to name while acknowledged, then finds the writers' turn taken too.
            _fire(community, community.ana.id, "ask", {"question": "Rubrics for labs?"}),
            _fire(community, community.ana.id, "progress", {}),
            _fire(community, community.ben.id, "connect suggest", {}),
        )
        answers = await asyncio.gather(
            *(answer_when(ix, _settled, timeout=9) for ix in (share, useful, setting, asked))
        )
        assert asyncio.get_running_loop().time() - started < 9  # within seconds, not minutes
        for ix in (share, useful, setting, asked, progress, suggest):
            assert _acknowledged_in_time(ix), ix
        for answer in answers:
            assert NOTHING_CHANGED in answer  # a clean refusal, not "interaction failed"
        # Reads don't wait for writers.
        assert progress.original_message is not None
        assert "Contribute" in progress.original_message.embeds[0]["fields"][1]["name"]
        suggested = await answer_when(suggest, _settled, timeout=9)
        assert COULD_NOT_LOOK not in suggested
        assert f"<@{community.ana.id}>" in suggested  # the one colleague there is to suggest

        await asyncio.to_thread(holder.wait, 15)
        # Nothing refused was stored: no share, no mark, no setting, no ask.
        assert await count_rows(bot, Resource) == 1
        assert await count_rows(bot, ActivityEvent) == 1
        assert await count_rows(bot, Ask) == 0
        async with bot.services.database.read() as session:
            assert await session.scalar(select(Server.shares_channel_id)) is None
        again = await run_command(
            community, community.ben.id, "share", {"url": "https://a.org/during"}
        )
        assert "**Shared!**" in again.content  # the retry works normally
    finally:
        await process.stop()


class StallingProxy:
    """A TCP proxy to PostgreSQL that can start accepting connections and never answering."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def stall(self) -> None:
        """From now on hold every byte, both ways, like a server that hung."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._pipes:
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                await self._flowing.wait()
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            sink.close()


@pytest.fixture
async def stalling_postgres() -> AsyncIterator[tuple[StallingProxy, str]]:
    if POSTGRES_URL is None:
        pytest.skip("needs PLN_TEST_DATABASE_URL (PostgreSQL)")
    url = make_url(asyncpg_url(POSTGRES_URL))
    await reset_postgres(url.render_as_string(hide_password=False))
    proxy = StallingProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    try:
        yield (
            proxy,
            url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        )
    finally:
        await proxy.stop()


async def test_a_postgresql_that_accepts_and_never_answers(
    community: Community, stalling_postgres: tuple[StallingProxy, str]
) -> None:
    proxy, url = stalling_postgres
    process = _bot_on(community, url)
    await process.start()
    try:
        await run_command(community, community.ana.id, "share", {"url": "https://a.org/first"})
        proxy.stall()
        started = asyncio.get_running_loop().time()
        share, useful, *reads = await asyncio.gather(
            _fire(community, community.ben.id, "share", {"url": "https://a.org/during"}),
            _press_useful(community, community.ben.id),
            _fire(community, community.ana.id, "progress", {}),
            _fire(community, community.ben.id, "connect suggest", {}),
            _fire(community, community.ana.id, "converse", {}),
            _fire(community, community.ben.id, "asks open", {}),
            _fire(community, community.ana.id, "ask", {"question": "Rubrics for labs?"}),
        )
        answers = await asyncio.gather(
            *(answer_when(ix, _settled, timeout=20) for ix in (share, useful, *reads))
        )
        elapsed = asyncio.get_running_loop().time() - started
        for ix in (share, useful, *reads):
            assert _acknowledged_in_time(ix), ix
        assert NOTHING_CHANGED in answers[0]
        assert NOTHING_CHANGED in answers[1]
        # Reads acknowledge while they read: a hung database still gets the member an answer.
        for answer in answers[2:]:
            assert COULD_NOT_LOOK in answer
        assert elapsed < 20

        proxy.resume()
        again = await run_command(
            community, community.ben.id, "share", {"url": "https://a.org/after"}
        )
        assert "**Shared!**" in again.content
        progress_now = await run_command(community, community.ana.id, "progress")
        assert progress_now.embeds
    finally:
        await process.stop()
