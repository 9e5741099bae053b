"""What the gateway sends on connect: the READY event and full GUILD_CREATE guilds."""

from __future__ import annotations

from typing import Any

from .intents import Intent
from .snowflakes import iso
from .state import Application, Guild
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
    """The full guild a session receives: roles, channels, members (all with GUILD_MEMBERS)."""
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
            "threads": [],
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
