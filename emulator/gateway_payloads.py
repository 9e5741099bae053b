"""What the gateway sends on connect: the READY event and full GUILD_CREATE guilds."""

from __future__ import annotations

from typing import Any

from .intents import Intent
from .permissions import P
from .snowflakes import iso
from .state import Application, Channel, Guild
from .world import World


def ready_payload(
    app: Application,
    session_id: str,
    resume_url: str,
    guilds: list[Guild],
    shard: tuple[int, int] | None,
) -> dict[str, Any]:
    """READY as documented: the bot user, guilds as unavailable stubs, session, resume URL."""
    ready: dict[str, Any] = {
        "v": 10,
        "user_settings": {},
        "user": {
            **app.bot_user.to_payload(),
            "verified": True,
            "mfa_enabled": False,
            "email": None,
        },
        "session_type": "normal",
        "session_id": session_id,
        "resume_gateway_url": resume_url,
        "relationships": [],
        "private_channels": [],
        "presences": [],
        "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": [],
        "auth": {},
        "application": {"id": str(app.id), "flags": app.flags},
        "_trace": ['["emulator"]'],
    }
    if shard is not None:
        ready["shard"] = list(shard)
    return ready


def guild_create_payload(
    world: World, guild: Guild, app: Application, intents: int
) -> dict[str, Any]:
    """The full guild a session receives: roles, channels, members (all with GUILD_MEMBERS) and
    the active threads the bot can see."""
    me = guild.members.get(app.bot_user.id)
    if intents & Intent.GUILD_MEMBERS:
        members = list(guild.members.values())
    else:
        members = [me] if me is not None else []
    payload = guild.to_payload()
    payload.update(
        {
            "joined_at": iso(me.joined_at) if me is not None else None,
            "large": len(guild.members) >= 250,
            "unavailable": False,
            "member_count": len(guild.members),
            "voice_states": [],
            "members": [m.to_payload() for m in members],
            "channels": [c.to_payload() for c in guild.channels.values()],
            "threads": active_threads(world, guild, app),
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "embedded_activities": [],
            "application_command_counts": {},
            "lazy": True,
        }
    )
    for channel in payload["channels"]:
        channel.pop("guild_id", None)
    return payload


def active_threads(world: World, guild: Guild, app: Application) -> list[dict[str, Any]]:
    """GUILD_CREATE's ``threads``: active threads the bot can view, each with the bot's thread
    member object (without ``id``/``user_id``) when it has joined (docs: topics/threads)."""
    bot_id = app.bot_user.id
    threads: list[dict[str, Any]] = []
    for thread in world.threads_of(guild.id):
        state = thread.thread
        if state is None or state.archived or not _can_view(world, thread, bot_id):
            continue
        payload = thread.to_payload()
        if bot_id in state.members:
            payload["member"] = state.member_payload(thread.id, bot_id, with_ids=False)
        threads.append(payload)
    return threads


def _can_view(world: World, channel: Channel, user_id: int) -> bool:
    return bool(world.channel_permissions(channel.id, user_id) & P.VIEW_CHANNEL)
