"""`python -m emulator` in its own process: a world built over its control API, a real bot
connected to it, and a prepared stream fed to that bot."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from bot.discord_endpoints import DISCORD_API_BASE_URL, apply_discord_endpoints

from .passive import collect, passive_intents, wait_for

ROOT = Path(__file__).resolve().parents[2]


class Control:
    def __init__(self, urls: dict[str, Any], http: aiohttp.ClientSession) -> None:
        self.urls = urls
        self.http = http

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.http.request(method, self.urls["control_url"] + path, json=body) as r:
            return r.status, await r.json()


@pytest.fixture
async def control() -> AsyncIterator[Control]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "emulator",
        "--heartbeat-interval-ms",
        "500",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        urls = json.loads(await asyncio.wait_for(process.stdout.readline(), 15))
        async with aiohttp.ClientSession() as http:
            yield Control(urls, http)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 10) == 0  # a clean stop


WORLD = {
    "applications": [{"key": "bot", "name": "Feed Test"}],
    "users": [{"key": "ana", "username": "ana"}, {"key": "ben", "username": "ben"}],
    "guilds": [
        {
            "key": "g",
            "name": "Demo",
            "owner": "ana",
            "channels": [{"key": "general", "name": "general"}],
            "members": [{"user": "ana"}, {"user": "ben"}],
            "bots": [{"application": "bot", "permissions": 274877992000}],
        }
    ],
}


async def test_a_standalone_emulator_feeds_a_prepared_stream_to_a_connected_bot(
    control: Control,
) -> None:
    status, world = await control.call("POST", "/world", WORLD)
    assert status == 200
    ana, ben = world["users"]["ana"], world["users"]["ben"]
    general = world["guilds"]["g"]["channels"]["general"]
    apply_discord_endpoints(control.urls["api_base_url"], control.urls["gateway_url"])
    bot = commands.Bot(
        command_prefix=commands.when_mentioned, intents=passive_intents(), guild_ready_timeout=0.05
    )
    messages: list[discord.Message] = collect(bot, "message")
    reactions: list[discord.RawReactionActionEvent] = collect(bot, "raw_reaction_add")
    threads: list[discord.Thread] = collect(bot, "thread_create")
    running = asyncio.create_task(bot.start(world["applications"]["bot"]["token"]))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), 10)
        status, sessions = await control.call("GET", "/sessions")
        assert [s["ready"] for s in sessions] == [True]

        actions = [
            {"do": "message", "channel": general, "author": ana, "content": "A question"},
            {"do": "thread", "channel": general, "author": ana, "name": "Q", "message": "$0"},
            {"do": "message", "channel": "$1", "author": ben, "content": "An answer"},
            {"do": "message", "channel": "$1", "author": ana, "reply_to": "$2"},
            {"do": "react", "channel": "$1", "message": "$2", "user": ana, "emoji": "👍"},
        ]
        status, feed = await control.call("POST", "/feeds", {"actions": actions})
        assert status == 200
        assert feed["ids"][4] is None
        held = feed["sessions"][sessions[0]["session_id"]]["frames_after"]
        # A thread from a message: THREAD_CREATE, MESSAGE_UPDATE and the starter message.
        assert held == [1, 4, 5, 6, 7]
        await asyncio.sleep(0.2)
        assert messages == []  # prepared, but held until the feed starts

        status, _ = await control.call("POST", f"/feeds/{feed['feed']}/start", {"speed": None})
        assert status == 200
        # The question, the thread's starter message, the answer and the reply.
        await wait_for(lambda: len(reactions) == 1 and len(messages) == 4, within=10)
        assert [t.id for t in threads] == [int(feed["ids"][1])]
        reply = messages[-1]
        assert reply.reference is not None
        assert reply.reference.message_id == int(feed["ids"][2])
        assert reactions[0].message_id == int(feed["ids"][2])

        async def everything_read() -> bool:
            stats = (await control.call("GET", f"/feeds/{feed['feed']}"))[1]
            return bool(stats["done"]) and stats["sessions"][0]["read"] == 7

        deadline = asyncio.get_running_loop().time() + 5
        while not await everything_read():  # the bot's heartbeats say it read all 7
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.1)

        status, refused = await control.call(
            "POST", "/feeds", {"actions": [{"do": "react", "channel": general}]}
        )
        assert status == 400
        assert "action 0" in refused["error"]
    finally:
        await bot.close()
        await asyncio.wait({running}, timeout=5)
        apply_discord_endpoints(DISCORD_API_BASE_URL)


async def test_the_control_api_counts_a_bots_requests_and_closes_dms(control: Control) -> None:
    status, world = await control.call("POST", "/world", WORLD)
    assert status == 200
    app = world["applications"]["bot"]
    ana = world["users"]["ana"]
    general = int(world["guilds"]["g"]["channels"]["general"])
    apply_discord_endpoints(control.urls["api_base_url"], control.urls["gateway_url"])
    bot = commands.Bot(command_prefix=commands.when_mentioned, intents=discord.Intents.default())
    running = asyncio.create_task(bot.start(app["token"]))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), 10)
        channel = bot.get_channel(general)
        assert isinstance(channel, discord.TextChannel)
        posted = await channel.send("hello")
        user = await bot.fetch_user(int(ana))
        status, answer = await control.call("POST", f"/users/{ana}/dms", {"open": False})
        assert (status, answer) == (200, {"user_id": ana, "open": False})
        with pytest.raises(discord.Forbidden) as caught:
            await user.send("a nudge")
        assert caught.value.code == 50007
        status, _ = await control.call("POST", f"/users/{ana}/dms", {"open": True})
        assert status == 200
        await user.send("a nudge")
        assert (await control.call("POST", "/users/1/dms", {"open": False}))[0] == 404
        assert (await control.call("POST", f"/users/{ana}/dms", {}))[0] == 400

        status, counts = await control.call("GET", f"/requests?application_id={app['id']}")
        assert status == 200
        routes = counts["by_route"]
        assert routes["POST /channels/{channel_id}/messages"] == 3  # one refused with 50007
        assert counts["by_status"]["403"] == 1
        assert counts["rate_limited"] == 0
        assert counts["requests"] == sum(routes.values())
        status, later = await control.call("GET", f"/requests?since={counts['last_at'] + 1}")
        assert later["requests"] == 0
        status, made = await control.call("GET", f"/messages?author_id={app['bot_user_id']}")
        assert made["messages"][0]["id"] == str(posted.id)
        assert len(made["messages"]) == 2
        assert (await control.call("GET", "/messages"))[0] == 400
    finally:
        await bot.close()
        await asyncio.wait({running}, timeout=5)
        apply_discord_endpoints(DISCORD_API_BASE_URL)
