"""Weekly posts with several bot processes on one database, and across daylight-saving days.

Each "process" is a real bot (sharded with ``AutoShardedBot`` where the test says so) with its
own connection to the emulator, its own delivery worker and its own clock ticks; they share the
test's database (SQLite file, or PostgreSQL when the suite runs with it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app import PLNCoachBot, ShardedPLNCoachBot, create_bot
from bot.config import Settings
from bot.db import ChallengeWeek, WeeklySchedule
from bot.scheduling.clock import ShiftedClock
from bot.scheduling.weekly import spread
from bot.sharding import shard_of
from emulator.state import Channel, Guild
from tests.e2e.conftest import BotProcess, Community
from tests.e2e.helpers import bot_posts, count_rows, eventually, run_command
from tests.e2e.test_challenges import AFTER_SPREAD, settle

SUNDAY = 6


def sharded(settings: Settings, shard_ids: tuple[int, ...], shard_count: int) -> Settings:
    discord = settings.discord.model_copy(
        update={"shard_ids": shard_ids, "shard_count": shard_count}
    )
    return settings.model_copy(update={"discord": discord})


class Fleet:
    """Bot processes sharing one clock (one machine's time) and one database."""

    def __init__(self) -> None:
        self.clock = ShiftedClock()
        self.bots: list[PLNCoachBot] = []
        self._running: dict[int, AsyncExitStack] = {}

    async def start(self, settings: Settings) -> PLNCoachBot:
        token = settings.discord.token
        assert token is not None
        bot = create_bot(settings, guild_ready_timeout=0.05, clock=self.clock)
        running = AsyncExitStack()
        await running.enter_async_context(bot.connected(token.get_secret_value()))
        self.bots.append(bot)
        self._running[id(bot)] = running
        return bot

    async def stop(self, bot: PLNCoachBot) -> None:
        await self._running.pop(id(bot)).aclose()
        self.bots.remove(bot)

    async def stop_all(self) -> None:
        for bot in list(self.bots):
            await self.stop(bot)


@pytest.fixture
async def fleet() -> AsyncIterator[Fleet]:
    fleet = Fleet()
    try:
        yield fleet
    finally:
        await fleet.stop_all()


def add_server(community: Community, name: str) -> tuple[Guild, Channel]:
    emu = community.emulator
    guild = emu.create_guild(name, owner_id=community.admin.id)
    role = emu.create_role(guild.id, "PLN Coach", permissions=community.bot_role.permissions)
    channel = emu.create_text_channel(guild.id, "challenges")
    emu.add_member(guild.id, community.app.bot_user.id, roles=(role.id,))
    return guild, channel


async def schedule_in(community: Community, guild: Guild, channel: Channel) -> None:
    ix = await community.emulator.run_slash_command(
        guild.id,
        channel.id,
        community.admin.id,
        "challenge schedule",
        {"channel": channel.id, "weekday": "Monday", "time": "09:00", "timezone": "Europe/Berlin"},
    )
    await ix.wait_original_edit(timeout=5)


def challenges_in(community: Community, channel_id: int) -> int:
    return sum(
        1
        for message in bot_posts(community, channel_id)
        if message.embeds and message.embeds[0]["title"].startswith("Weekly challenge")
    )


async def due_at(bot: PLNCoachBot, server_id: int) -> datetime:
    async with bot.services.database.read() as session:
        value = await session.scalar(
            select(WeeklySchedule.next_run_at).where(
                WeeklySchedule.server_id == server_id, WeeklySchedule.kind == "challenge"
            )
        )
    assert value is not None
    return value


async def test_two_processes_running_everything_post_each_server_once_a_week(
    community: Community, bot_settings: Settings, fleet: Fleet
) -> None:
    servers = [add_server(community, f"School {n}") for n in range(3)]
    first = await fleet.start(bot_settings)
    await fleet.start(bot_settings)  # a second copy, e.g. an operator's mistake or a deploy
    for guild, channel in servers:
        await schedule_in(community, guild, channel)
    due = max([await due_at(first, guild.id) for guild, _ in servers])
    for week in range(2):
        fleet.clock.set(due + timedelta(days=7 * week) + AFTER_SPREAD)
        for bot in fleet.bots:
            bot.schedules_changed()
        wanted = [week + 1] * len(servers)

        def posted(wanted: list[int] = wanted) -> bool:
            return [challenges_in(community, channel.id) for _, channel in servers] == wanted

        await eventually(posted, what=f"week {week + 1}'s challenges")
        await settle()
        assert [challenges_in(community, channel.id) for _, channel in servers] == [week + 1] * 3
    assert await count_rows(first, ChallengeWeek) == 6


async def test_shard_processes_post_their_servers_and_take_over_a_dead_ones(
    community: Community, bot_settings: Settings, fleet: Fleet
) -> None:
    servers: dict[int, tuple[Guild, Channel]] = {}
    for n in range(40):
        guild, channel = add_server(community, f"School {n}")
        servers.setdefault(shard_of(guild.id, 2), (guild, channel))
        if len(servers) == 2:
            break
    assert set(servers) == {0, 1}, "the emulator gave every server the same shard"
    zero = await fleet.start(sharded(bot_settings, (0,), 2))
    one = await fleet.start(sharded(bot_settings, (1,), 2))
    assert isinstance(zero, ShardedPLNCoachBot)
    assert {guild.id for guild in zero.guilds} & {servers[1][0].id} == set()
    for guild, channel in servers.values():
        await schedule_in(community, guild, channel)

    # Both alive: each posts its own server's challenge, on time.
    due = await due_at(zero, servers[0][0].id)
    fleet.clock.set(due + AFTER_SPREAD)
    await eventually(
        lambda: all(challenges_in(community, ch.id) == 1 for _, ch in servers.values()),
        what="both servers' challenges",
    )

    # Shard 0's process dies. Next week shard 1's process waits for it a little, then posts
    # shard 0's server too: once.
    await fleet.stop(zero)
    fleet.clock.set(due + timedelta(days=7) + AFTER_SPREAD)
    one.schedules_changed()
    await eventually(lambda: challenges_in(community, servers[1][1].id) == 2, what="shard 1's")
    await settle()
    assert challenges_in(community, servers[0][1].id) == 1  # not yet: its own process may be back
    fleet.clock.set(due + timedelta(days=7, minutes=2) + AFTER_SPREAD)
    await eventually(
        lambda: challenges_in(community, servers[0][1].id) == 2, what="the takeover post"
    )
    # The dead process comes back: nothing is posted twice.
    await fleet.start(sharded(bot_settings, (0,), 2))
    await settle()
    assert [challenges_in(community, ch.id) for _, ch in servers.values()] == [2, 2]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc,arg-type]


@pytest.mark.parametrize(
    ("zone", "local_time", "start", "first", "repeated"),
    [
        # Chicago falls back on 2027-11-07: 01:30 comes twice (06:30 and 07:30 UTC).
        ("America/Chicago", "01:30", utc(2027, 11, 1), utc(2027, 11, 7, 6, 30), True),
        # ... and springs forward on 2027-03-14: 02:30 does not exist; 03:30 CDT instead.
        ("America/Chicago", "02:30", utc(2027, 3, 8), utc(2027, 3, 14, 8, 30), False),
        # Berlin falls back on 2027-10-31 (02:30 at 00:30 and 01:30 UTC) ...
        ("Europe/Berlin", "02:30", utc(2027, 10, 25), utc(2027, 10, 31, 0, 30), True),
        # ... and springs forward on 2027-03-28.
        ("Europe/Berlin", "02:30", utc(2027, 3, 22), utc(2027, 3, 28, 1, 30), False),
        # Sydney falls back on 2027-04-04 (02:30 at 15:30 and 16:30 UTC the day before) ...
        ("Australia/Sydney", "02:30", utc(2027, 3, 29), utc(2027, 4, 3, 15, 30), True),
        # ... and springs forward on 2027-10-03.
        ("Australia/Sydney", "02:30", utc(2027, 9, 27), utc(2027, 10, 2, 16, 30), False),
    ],
)
async def test_daylight_saving_weeks_post_once_at_the_first_or_moved_time(
    coach: PLNCoachBot,
    community: Community,
    bot_process: BotProcess,
    zone: str,
    local_time: str,
    start: datetime,
    first: datetime,
    repeated: bool,
) -> None:
    bot_process.clock.set(start)
    await run_command(
        community,
        community.admin.id,
        "challenge schedule",
        {
            "channel": community.resources.id,
            "weekday": "Sunday",
            "time": local_time,
            "timezone": zone,
        },
    )
    assert await due_at(coach, community.guild.id) - spread(community.guild.id) == first
    bot_process.clock.set(first + AFTER_SPREAD)
    await eventually(lambda: challenges_in(community, community.resources.id) == 1, what="the post")
    if repeated:  # the same local time again, an hour later: no second post
        bot_process.clock.set(first + timedelta(hours=1) + AFTER_SPREAD)
        await settle()
    assert challenges_in(community, community.resources.id) == 1
    assert await due_at(coach, community.guild.id) >= first + timedelta(days=7) - timedelta(hours=1)
