"""Fixtures: a started emulator with one application, a guild, channels and members, and bots.

Bots are real ``commands.Bot`` instances pointed at the emulator with
``apply_discord_endpoints``; each test gets a fresh emulator and the endpoints are restored
afterwards. Teardown closes the bots first (so they do not try to reconnect), then the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import discord
import pytest
from discord.ext import commands

from bot.discord_endpoints import DISCORD_API_BASE_URL, apply_discord_endpoints
from emulator import Application, Channel, DiscordEmulator, Guild, P, Role, User

BotT = TypeVar("BotT", bound=commands.Bot | commands.AutoShardedBot)


@dataclass
class Harness:
    emu: DiscordEmulator
    app: Application
    owner: User
    ana: User
    ben: User
    guild: Guild
    general: Channel
    announcements: Channel
    teachers: Role
    bots: list[tuple[commands.Bot | commands.AutoShardedBot, asyncio.Task[None]]] = field(
        default_factory=list
    )

    def make_bot(self, *, intents: discord.Intents | None = None, **kwargs: Any) -> commands.Bot:
        kwargs.setdefault("guild_ready_timeout", 0.05)
        return commands.Bot(
            command_prefix=commands.when_mentioned,
            intents=intents or discord.Intents.default(),
            application_id=self.app.id,
            **kwargs,
        )

    async def start(self, bot: BotT, *, token: str | None = None, within: float = 10) -> BotT:
        task = asyncio.create_task(bot.start(token or self.app.token))
        self.bots.append((bot, task))
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, task}, timeout=within, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()  # raise what made the bot stop
            raise TimeoutError("bot did not become ready")
        return bot

    async def close_bots(self) -> None:
        for bot, task in self.bots:
            await bot.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
        self.bots.clear()


def build_world(emu: DiscordEmulator) -> Harness:
    app = emu.create_application(name="PLN Coach")
    owner = emu.create_user("olivia", global_name="Olivia")
    ana = emu.create_user("ana")
    ben = emu.create_user("ben")
    guild = emu.create_guild("Demo Educators", owner_id=owner.id)
    teachers = emu.create_role(guild.id, "Teachers", mentionable=True)
    general = emu.create_text_channel(guild.id, "general", topic="Say hi")
    announcements = emu.create_text_channel(guild.id, "announcements")
    emu.add_member(guild.id, ana.id, roles=(teachers.id,))
    emu.add_member(guild.id, ben.id)
    emu.add_member(guild.id, app.bot_user.id, bot_permissions=int(P.SEND_MESSAGES | P.EMBED_LINKS))
    return Harness(emu, app, owner, ana, ben, guild, general, announcements, teachers)


HarnessFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_harness() -> AsyncIterator[HarnessFactory]:
    """Start emulators (with any ``DiscordEmulator`` options) populated by ``build_world``."""
    started: list[Harness] = []

    async def factory(**options: Any) -> Harness:
        emulator = DiscordEmulator(**options)
        await emulator.start()
        apply_discord_endpoints(emulator.api_base_url, emulator.gateway_url)
        world = build_world(emulator)
        started.append(world)
        return world

    try:
        yield factory
    finally:
        for world in reversed(started):
            await world.close_bots()
            await world.emu.stop()
        apply_discord_endpoints(DISCORD_API_BASE_URL)
        for world in started:
            assert not world.emu.internal_errors, world.emu.internal_errors


@pytest.fixture
async def harness(make_harness: HarnessFactory) -> Harness:
    return await make_harness()


@pytest.fixture
def emu(harness: Harness) -> DiscordEmulator:
    return harness.emu


@pytest.fixture
async def running_bot(harness: Harness) -> commands.Bot:
    """A bare bot with default intents, connected and ready."""
    return await harness.start(harness.make_bot())
