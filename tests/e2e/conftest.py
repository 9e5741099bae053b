"""End-to-end fixtures: the local Discord emulator, a demo community, and the real bot.

The bot is the production ``PLNCoachBot``, talking to the emulator over real HTTP and
websockets and storing into the real database of the test's backend.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import pytest

from bot.app import PLNCoachBot
from bot.config import Settings, local_settings
from bot.invite import INVITE_PERMISSIONS
from bot.scheduling.clock import ShiftedClock
from emulator import DiscordEmulator
from emulator.state import Application, Channel, Guild, Role, User
from tests.e2e.bot_subprocess import STARTED


@dataclass
class Community:
    emulator: DiscordEmulator
    app: Application
    guild: Guild
    general: Channel
    resources: Channel
    admin: User
    ana: User
    ben: User
    teachers: Role
    bot_role: Role


@pytest.fixture
async def emulator() -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator() as emu:
        yield emu
    assert emu.internal_errors == []  # the emulator itself must never be what failed
    # Whatever a test did, nothing the bot posted may have pinged anyone, except an ask's
    # thread notifying at most three helpers (who offered to help; tests check which).
    bots = {app.bot_user.id for app in emu.world.applications.values()}
    for message in emu.world.messages.values():
        if message.author_id not in bots or not message.pings.any:
            continue
        assert not message.pings.everyone, message
        assert not message.pings.roles, message
        assert message.content.startswith("**A question from"), message
        assert len(message.pings.users) <= 3, message


@pytest.fixture(autouse=True)
def no_token_in_any_log(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """Whatever an end-to-end test did, no token shows in what the bot logged: in this
    process (at INFO, as the bot runs by default) and in any `pln-coach run` it started."""
    caplog.set_level(logging.INFO)
    started = len(STARTED)
    # Kept to read its tokens afterwards (it is closed by then; its records stay).
    emu: DiscordEmulator | None = (
        request.getfixturevalue("emulator") if "emulator" in request.fixturenames else None
    )
    yield
    if emu is None:
        return
    secrets = [app.token for app in emu.world.applications.values()]
    # An interaction token's random part (discord.py percent-encodes the ":" before it).
    secrets += [ix.token.rpartition(":")[2] for ix in emu.interactions]
    # caplog.text would be this teardown's records only: read the setup's and the test's.
    logged = "\n".join(
        f"{record.getMessage()}\n{record.exc_text or ''}"
        for when in ("setup", "call")
        for record in caplog.get_records(when)
    )
    logs = [logged] + [bot.log() for bot in STARTED[started:] if bot.runs]
    del STARTED[started:]
    for log in logs:
        leaked = [secret[:6] + "…" for secret in secrets if secret and secret in log]
        assert not leaked, f"tokens in the logs: {leaked}"


@pytest.fixture
def community(emulator: DiscordEmulator) -> Community:
    app = emulator.create_application(name="PLN Coach")
    admin = emulator.create_user("maya", global_name="Maya")
    ana = emulator.create_user("ana", global_name="Ana")
    ben = emulator.create_user("ben", global_name="Ben")
    guild = emulator.create_guild("Demo Educators", owner_id=admin.id)
    teachers = emulator.create_role(guild.id, "Teachers", permissions=0, mentionable=True)
    bot_role = emulator.create_role(guild.id, "PLN Coach", permissions=INVITE_PERMISSIONS.value)
    general = emulator.create_text_channel(guild.id, "general")
    resources = emulator.create_text_channel(guild.id, "resources")
    for user in (ana, ben):
        emulator.add_member(guild.id, user.id, roles=(teachers.id,))
    emulator.add_member(guild.id, app.bot_user.id, roles=(bot_role.id,))
    return Community(emulator, app, guild, general, resources, admin, ana, ben, teachers, bot_role)


@pytest.fixture
def bot_settings(
    request: pytest.FixtureRequest, community: Community, database_url: str
) -> Settings:
    """The test bot's settings; ``@pytest.mark.no_cooldowns`` for tests that act in bursts."""
    emu = community.emulator
    return local_settings(
        token=community.app.token,
        api_base_url=emu.api_base_url,
        gateway_url=emu.gateway_url,
        database_url=database_url,
        member_cooldowns=request.node.get_closest_marker("no_cooldowns") is None,
    )


class BotProcess:
    """Starts and stops the real bot, inside the test's event loop, as often as a test needs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._running = AsyncExitStack()
        # The weekly posts' clock, kept across restarts: tests move it forward.
        self.clock = ShiftedClock()

    async def start(self) -> PLNCoachBot:
        token = self.settings.discord.token
        assert token is not None
        bot = PLNCoachBot(self.settings, guild_ready_timeout=0.05, clock=self.clock)
        return await self._running.enter_async_context(bot.connected(token.get_secret_value()))

    async def stop(self) -> None:
        await self._running.aclose()

    async def restart(self) -> PLNCoachBot:
        await self.stop()
        return await self.start()


@pytest.fixture
async def bot_process(bot_settings: Settings) -> AsyncIterator[BotProcess]:
    process = BotProcess(bot_settings)
    try:
        yield process
    finally:
        await process.stop()


@pytest.fixture
async def coach(bot_process: BotProcess) -> PLNCoachBot:
    """The bot, connected and ready."""
    return await bot_process.start()
