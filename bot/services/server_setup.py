"""``/pln setup`` as one decision: every channel, the timezone and the weekly schedule together.

The guided flow collects an admin's choices first and saves them in one transaction, so a server
is never left half set up (channels saved, schedule not) by a flow abandoned or a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time

from sqlalchemy import delete, select, update

from bot.challenges.schedules import PostKind, put_schedule, weekly_time_of
from bot.db import Database, Server, WeeklySchedule, utcnow
from bot.scheduling.weekly import WeeklyTime
from bot.services.members import Actor, touch_actor
from bot.services.server_settings import ChannelSetting

# A new server's first guess: Monday morning, a good time to start a teaching week.
DEFAULT_WEEKDAY = 0
DEFAULT_TIME = time(8, 0)
DEFAULT_ZONE = "UTC"


@dataclass(frozen=True, slots=True)
class SetupChoice:
    """What an admin picked; ``None`` for a channel means its fallback (where commands run)."""

    channels: Mapping[ChannelSetting, int | None] = field(
        default_factory=lambda: dict.fromkeys(ChannelSetting)
    )
    # Where the weekly challenge goes; None: no weekly challenge (and no recap).
    challenge_channel_id: int | None = None
    # Where the recap goes; None: with the challenge, the day before it.
    recap_channel_id: int | None = None
    weekday: int = DEFAULT_WEEKDAY
    at: time = DEFAULT_TIME
    zone: str = DEFAULT_ZONE
    # Whether the zone was chosen (by an admin, now or before) rather than guessed.
    zone_chosen: bool = False

    @property
    def weekly(self) -> WeeklyTime:
        return WeeklyTime(self.weekday, self.at, self.zone)


class ServerSetupService:
    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._database = database
        self._clock = clock

    async def current(self, server_id: int) -> SetupChoice:
        """The server's set-up as it stands, for the flow to start from."""
        async with self._database.read() as session:
            server = await session.get(Server, server_id)
            rows = {
                row.kind: row
                for row in await session.scalars(
                    select(WeeklySchedule).where(WeeklySchedule.server_id == server_id)
                )
            }
        if server is None:
            return SetupChoice()
        channels = {setting: getattr(server, setting.column) for setting in ChannelSetting}
        challenge = rows.get(PostKind.CHALLENGE.value)
        recap = rows.get(PostKind.RECAP.value)
        zone = server.timezone or (challenge.zone if challenge else None)
        weekly = weekly_time_of(challenge) if challenge else None
        return SetupChoice(
            channels=channels,
            challenge_channel_id=challenge.channel_id if challenge else None,
            recap_channel_id=(
                recap.channel_id if recap is not None and not recap.follows_challenge else None
            ),
            weekday=weekly.weekday if weekly else DEFAULT_WEEKDAY,
            at=weekly.at if weekly else DEFAULT_TIME,
            zone=zone or DEFAULT_ZONE,
            zone_chosen=zone is not None,
        )

    async def save(self, actor: Actor, choice: SetupChoice) -> None:
        now = self._clock()
        server_id = actor.server_id
        async with self._database.write() as session:
            await touch_actor(session, actor, now)
            await session.execute(
                update(Server)
                .where(Server.id == server_id)
                .values(
                    {
                        **{
                            setting.column: choice.channels.get(setting)
                            for setting in ChannelSetting
                        },
                        "timezone": choice.zone,
                    }
                )
            )
            if choice.challenge_channel_id is None:
                await session.execute(
                    delete(WeeklySchedule).where(WeeklySchedule.server_id == server_id)
                )
                return
            weekly = choice.weekly
            await put_schedule(
                session,
                server_id,
                PostKind.CHALLENGE,
                choice.challenge_channel_id,
                weekly,
                now,
                follows_challenge=False,
            )
            await put_schedule(
                session,
                server_id,
                PostKind.RECAP,
                choice.recap_channel_id or choice.challenge_channel_id,
                weekly.day_before(),
                now,
                follows_challenge=choice.recap_channel_id is None,
            )
