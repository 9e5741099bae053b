"""Rate limits: headers on every answer, buckets, the global limit and injected 429s."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import discord
import pytest
from discord import app_commands

from emulator import RouteLimit

from .conftest import Harness, HarnessFactory


async def test_every_response_has_rate_limit_headers(harness: Harness) -> None:
    headers = {"Authorization": f"Bot {harness.app.token}"}
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{harness.emu.api_base_url}/users/@me", headers=headers
        ) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "application/json"
            for name in ("Limit", "Remaining", "Reset", "Reset-After", "Bucket"):
                assert f"X-RateLimit-{name}" in response.headers
        async with session.get(
            f"{harness.emu.api_base_url}/users/@me", headers={"Authorization": "Bot nope"}
        ) as bad:
            assert bad.status == 401
            assert await bad.json() == {"message": "401: Unauthorized", "code": 0}


async def test_injected_429_is_retried_transparently(harness: Harness) -> None:
    bot = await harness.start(harness.make_bot())
    harness.emu.inject_rate_limit(
        "POST", f"/channels/{harness.general.id}/messages", retry_after=0.2
    )
    channel = bot.get_channel(harness.general.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("after the wait")
    assert sent.content == "after the wait"
    statuses = [
        r.status
        for r in harness.emu.requests
        if r.method == "POST" and r.route == "/channels/{channel_id}/messages"
    ]
    assert statuses == [429, 200]


async def test_route_bucket_makes_discord_py_wait(make_harness: HarnessFactory) -> None:
    harness = await make_harness(
        route_limits={"POST /channels/{channel_id}/messages": RouteLimit(2, 0.4)}
    )
    bot = await harness.start(harness.make_bot())
    channel = bot.get_channel(harness.general.id)
    assert isinstance(channel, discord.TextChannel)
    started = time.monotonic()
    await asyncio.gather(*(channel.send(f"m{i}") for i in range(5)))
    assert time.monotonic() - started >= 0.8
    assert len(harness.emu.messages_in(harness.general.id)) == 5


async def test_global_limit_is_enforced_and_survived(make_harness: HarnessFactory) -> None:
    harness = await make_harness(global_rate_limit=5)
    bot = await harness.start(harness.make_bot())
    users = [harness.ana.id, harness.ben.id, harness.owner.id]
    results = await asyncio.gather(*(bot.fetch_user(users[i % 3]) for i in range(12)))
    assert len(results) == 12
    limited = [r for r in harness.emu.requests if r.status == 429]
    assert limited, "expected the global limit to be hit"


async def test_burst_of_interactions_is_not_rate_limited(harness: Harness) -> None:
    bot = harness.make_bot()

    @bot.tree.command(name="ping", description="Ping")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong", ephemeral=True)
        await interaction.followup.send("again", ephemeral=True)

    await harness.start(bot)
    await bot.tree.sync()
    emu = harness.emu
    handles = [
        await emu.run_slash_command(harness.guild.id, harness.general.id, harness.ana.id, "ping")
        for _ in range(200)
    ]
    await asyncio.gather(*(h.wait_followups(1, timeout=10) for h in handles))
    assert all(h.response is not None and h.response.type == 4 for h in handles)
    assert not [r for r in emu.requests if r.status == 429]


async def test_application_command_validation(harness: Harness) -> None:
    bot = await harness.start(harness.make_bot())
    assert bot.application_id is not None
    route = discord.http.Route(
        "PUT", "/applications/{application_id}/commands", application_id=bot.application_id
    )
    bad = [
        {"name": "Bad Name", "description": "x", "type": 1},
        {"name": "ok", "description": "", "type": 1},
        {
            "name": "opts",
            "description": "d",
            "options": [
                {"type": 3, "name": "later", "description": "d"},
                {"type": 3, "name": "first", "description": "d", "required": True},
            ],
        },
    ]
    with pytest.raises(discord.HTTPException) as invalid:
        await bot.http.request(route, json=bad)
    assert invalid.value.status == 400
    assert invalid.value.code == 50035
    text = str(invalid.value)
    assert "0.name" in text
    assert "1.description" in text
    assert "2.options.1.required" in text
    too_many = [{"name": f"c{i}", "description": "d"} for i in range(101)]
    with pytest.raises(discord.HTTPException) as limit:
        await bot.http.request(route, json=too_many)
    assert limit.value.status == 400
    assert harness.emu.command_writes == 0


async def test_sync_returns_discord_shaped_commands(harness: Harness) -> None:
    bot = harness.make_bot()

    @bot.tree.command(name="share", description="Share")
    @app_commands.describe(url="Link")
    async def share(interaction: discord.Interaction, url: str) -> None:
        await interaction.response.send_message(url)

    await harness.start(bot)
    first = await bot.tree.sync()
    again = await bot.tree.sync()
    assert first[0].id == again[0].id
    fetched = await bot.tree.fetch_commands()
    assert [c.name for c in fetched] == ["share"]
    stored = harness.emu.commands(harness.app.id)[0]
    assert stored["options"][0] == {
        "type": 3,
        "name": "url",
        "description": "Link",
        "required": True,
    }
    assert {
        "id",
        "application_id",
        "version",
        "default_member_permissions",
        "type",
        "contexts",
        "integration_types",
        "nsfw",
    } <= set(stored)
    assert harness.emu.command_writes == 2
