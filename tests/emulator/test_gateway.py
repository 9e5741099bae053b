"""The gateway as discord.py experiences it: READY/GUILD_CREATE, resuming, invalidation, shards."""

from __future__ import annotations

import asyncio
import json
import zlib
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from emulator import DiscordEmulator

from .conftest import Harness, HarnessFactory


async def _wait_for(predicate: Any, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.01)


class QuickBot(commands.Bot):
    """Skips discord.py's 5 s pause before re-IDENTIFYing, to keep the suite fast."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


def _collect(bot: commands.Bot) -> list[str]:
    seen: list[str] = []

    async def on_message(message: discord.Message) -> None:
        seen.append(message.content)

    bot.add_listener(on_message)
    return seen


async def test_ready_guild_cache_and_login_requests(
    harness: Harness, running_bot: commands.Bot
) -> None:
    bot = running_bot
    assert bot.user is not None
    assert bot.user.id == harness.app.bot_user.id
    guild = bot.get_guild(harness.guild.id)
    assert guild is not None
    assert guild.name == "Demo Educators"
    assert {c.name for c in guild.text_channels} == {"general", "announcements"}
    assert guild.get_role(harness.teachers.id) is not None
    assert guild.me is not None
    assert guild.owner_id == harness.owner.id
    general = guild.get_channel(harness.general.id)
    assert isinstance(general, discord.TextChannel)
    assert general.topic == "Say hi"
    routes = [(r.method, r.route) for r in harness.emu.requests]
    assert ("GET", "/users/@me") in routes
    assert ("GET", "/oauth2/applications/@me") in routes
    session = harness.emu.gateway_sessions[0]
    assert session.identified
    assert session.intents == discord.Intents.default().value


async def test_reconnect_resumes_and_replays_missed_events(harness: Harness) -> None:
    bot = await harness.start(harness.make_bot(intents=_content_intents()))
    seen = _collect(bot)
    emu = harness.emu
    await emu.send_reconnect()
    await emu.send_message(harness.general.id, harness.ana.id, "while away")
    await _wait_for(lambda: emu.gateway_sessions[0].resumed_count == 1)
    await emu.send_message(harness.general.id, harness.ana.id, "after")
    await _wait_for(lambda: len(seen) >= 2)
    await asyncio.sleep(0.05)
    assert seen == ["while away", "after"]
    assert len(emu.gateway_sessions) == 1


async def test_dropped_connection_resumes(harness: Harness) -> None:
    bot = await harness.start(harness.make_bot(intents=_content_intents()))
    seen = _collect(bot)
    emu = harness.emu
    await emu.drop_connections()
    await emu.send_message(harness.general.id, harness.ana.id, "missed")
    await _wait_for(lambda: emu.gateway_sessions[0].resumed_count == 1)
    await _wait_for(lambda: seen == ["missed"])
    await emu.drop_connections(abrupt=True)
    await emu.send_message(harness.general.id, harness.ana.id, "missed again")
    await _wait_for(lambda: emu.gateway_sessions[0].resumed_count == 2, within=10)
    await _wait_for(lambda: seen == ["missed", "missed again"])


async def test_invalid_session_makes_the_client_identify_again(harness: Harness) -> None:
    bot = QuickBot(
        command_prefix=commands.when_mentioned, intents=_content_intents(), guild_ready_timeout=0.05
    )
    await harness.start(bot)
    emu = harness.emu
    await emu.invalidate_sessions(resumable=True)
    await _wait_for(lambda: emu.gateway_sessions[0].resumed_count == 1)
    await emu.invalidate_sessions(resumable=False)
    await _wait_for(lambda: len(emu.gateway_sessions) == 2 and emu.gateway_sessions[1].ready)
    assert not emu.gateway_sessions[0].active
    seen = _collect(bot)
    await emu.send_message(harness.general.id, harness.ana.id, "fresh session")
    await _wait_for(lambda: seen == ["fresh session"])


async def test_joining_a_guild_and_members_arriving(harness: Harness) -> None:
    intents = _content_intents()
    intents.members = True
    bot = await harness.start(harness.make_bot(intents=intents))
    emu = harness.emu
    other = emu.create_guild("Second", owner_id=harness.ana.id)
    joined: list[int] = []
    members: list[int] = []

    async def on_guild_join(guild: discord.Guild) -> None:
        joined.append(guild.id)

    async def on_member_join(member: discord.Member) -> None:
        members.append(member.id)

    bot.add_listener(on_guild_join)
    bot.add_listener(on_member_join)
    emu.add_member(other.id, harness.app.bot_user.id)
    emu.add_member(other.id, harness.ben.id)
    await _wait_for(lambda: joined == [other.id] and members == [harness.ben.id])
    guild = bot.get_guild(other.id)
    assert guild is not None
    assert guild.get_member(harness.ana.id) is not None


async def test_sharded_bot_gets_each_guild_once(harness: Harness) -> None:
    emu = harness.emu
    extra = [emu.create_guild(f"School {i}", owner_id=harness.owner.id) for i in range(4)]
    for guild in extra:
        emu.add_member(guild.id, harness.app.bot_user.id)

    class QuickShardedBot(commands.AutoShardedBot):
        async def before_identify_hook(
            self, shard_id: int | None, *, initial: bool = False
        ) -> None:
            return None

    bot = QuickShardedBot(
        command_prefix=commands.when_mentioned,
        intents=discord.Intents.default(),
        shard_count=2,
        guild_ready_timeout=0.05,
    )
    await harness.start(bot)
    assert {g.id for g in bot.guilds} == {harness.guild.id, *(g.id for g in extra)}
    shards = {s.shard for s in emu.gateway_sessions}
    assert shards == {(0, 2), (1, 2)}
    for cached in bot.guilds:
        assert cached.shard_id == (cached.id >> 22) % 2


async def test_raw_gateway_protocol(emu: DiscordEmulator, harness: Harness) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{emu.gateway_url}?v=10&encoding=json") as ws:
            hello = await ws.receive_json()
            assert hello["op"] == 10
            assert hello["d"]["heartbeat_interval"] == 41250
            await ws.send_json({"op": 1, "d": None})
            assert (await ws.receive_json())["op"] == 11
            await ws.send_json({"op": 2, "d": {"token": "wrong", "intents": 0, "properties": {}}})
            closing = await ws.receive()
            assert closing.type == aiohttp.WSMsgType.CLOSE
            assert closing.data == 4004
        async with session.ws_connect(
            f"{emu.gateway_url}?v=10&encoding=json&compress=zlib-stream"
        ) as ws:
            inflater = zlib.decompressobj()
            raw = await ws.receive_bytes()
            assert raw.endswith(b"\x00\x00\xff\xff")
            assert json.loads(inflater.decompress(raw))["op"] == 10
            await ws.send_json(
                {"op": 2, "d": {"token": harness.app.token, "intents": 513, "properties": {}}}
            )
            ready = json.loads(inflater.decompress(await ws.receive_bytes()))
            assert ready["t"] == "READY"
            assert ready["s"] == 1
            assert ready["d"]["guilds"] == [{"id": str(harness.guild.id), "unavailable": True}]
            guild = json.loads(inflater.decompress(await ws.receive_bytes()))
            assert guild["t"] == "GUILD_CREATE"
            assert guild["s"] == 2
            assert len(guild["d"]["members"]) == 1
        async with session.ws_connect(f"{emu.gateway_url}?v=10&encoding=json") as ws:
            await ws.receive_json()
            await ws.send_json(
                {"op": 2, "d": {"token": harness.app.token, "intents": 1 << 30, "properties": {}}}
            )
            assert (await ws.receive()).data == 4013


async def test_listeners_see_events_and_interaction_messages(harness: Harness) -> None:
    events: list[str] = []
    harness.emu.add_listener(lambda event, data: events.append(event))
    bot = harness.make_bot()

    @bot.tree.command(name="hello", description="Hello")
    async def hello(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("hi", ephemeral=True)

    await harness.start(bot)
    await bot.tree.sync()
    ix = await harness.emu.run_slash_command(
        harness.guild.id, harness.general.id, harness.ana.id, "hello"
    )
    await ix.wait_response()
    assert "READY" in events
    assert "INTERACTION_CREATE" in events
    assert "INTERACTION_MESSAGE" in events


def _content_intents() -> discord.Intents:
    intents = discord.Intents.default()
    intents.message_content = True
    return intents


async def test_world_changes_reach_the_cache(harness: Harness) -> None:
    intents = _content_intents()
    intents.members = True
    bot = await harness.start(harness.make_bot(intents=intents))
    emu = harness.emu
    guild = bot.get_guild(harness.guild.id)
    assert guild is not None
    assert len(await guild.chunk()) == len(harness.guild.members)
    found = await guild.query_members(query="an")
    assert [m.id for m in found] == [harness.ana.id]
    role = emu.create_role(harness.guild.id, "Mentors", mentionable=True)
    channel = emu.create_text_channel(harness.guild.id, "mentoring", topic="Pairs")
    emu.add_member(harness.guild.id, harness.ben.id, roles=(role.id,), nick="Benny")
    await _wait_for(
        lambda: guild.get_role(role.id) is not None and guild.get_channel(channel.id) is not None
    )
    await _wait_for(
        lambda: (m := guild.get_member(harness.ben.id)) is not None and m.nick == "Benny"
    )
    member = guild.get_member(harness.ben.id)
    assert member is not None
    assert role.id in [r.id for r in member.roles]
    emu.remove_member(harness.guild.id, harness.ben.id)
    await _wait_for(lambda: guild.get_member(harness.ben.id) is None)
    emu.remove_channel(channel.id)
    await _wait_for(lambda: guild.get_channel(channel.id) is None)
    emu.remove_member(harness.guild.id, harness.app.bot_user.id)
    await _wait_for(lambda: bot.get_guild(harness.guild.id) is None)


async def test_heartbeat_ack_comes_after_a_short_delay_without_holding_other_frames(
    emu: DiscordEmulator, harness: Harness
) -> None:
    emu.hub.heartbeat_ack_delay = 0.2  # generous, so the order below holds on a slow machine
    loop = asyncio.get_running_loop()
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{emu.gateway_url}?v=10&encoding=json") as ws,
    ):
        assert (await ws.receive_json())["op"] == 10
        sent_at = loop.time()
        await ws.send_json({"op": 1, "d": None})
        await ws.send_json(
            {"op": 2, "d": {"token": harness.app.token, "intents": 513, "properties": {}}}
        )
        arrived: list[tuple[int, str | None]] = []
        while not arrived or arrived[-1][0] != 11:
            frame = await asyncio.wait_for(ws.receive_json(), 5)
            arrived.append((frame["op"], frame["t"]))
        acked_after = loop.time() - sent_at
    assert arrived == [(0, "READY"), (0, "GUILD_CREATE"), (11, None)]
    assert acked_after >= 0.19


@pytest.mark.timing  # 40 ms heartbeats: a busy neighbour stretches an ACK past half of one
async def test_a_real_client_measures_its_heartbeat_latency_correctly(
    make_harness: HarnessFactory,
) -> None:
    """discord.py warns "Can't keep up, websocket is N s behind" when an ACK seems to take more
    than 10 s; with an instant ACK it sometimes measured a whole interval (41 s by default).

    That threshold can't be reached in a short test, so this runs many short heartbeats and checks
    the latency discord.py computed at each ACK, the number its warning is based on.
    """
    interval = 0.04
    harness = await make_harness(heartbeat_interval_ms=int(interval * 1000))
    bot = harness.make_bot(enable_debug_events=True)
    latencies: list[float] = []

    async def on_socket_raw_receive(raw: str) -> None:
        if json.loads(raw).get("op") == 11:
            latencies.append(bot.latency)

    bot.add_listener(on_socket_raw_receive)
    await harness.start(bot)
    await _wait_for(lambda: len(latencies) >= 60, within=10)
    behind = [round(latency, 3) for latency in latencies if latency > interval / 2]
    assert not behind, f"ACKs measured against an earlier heartbeat: {behind}"
    assert all(latency >= 0.005 for latency in latencies[1:])
