"""The sandbox's demo server: "Demo Educators", a few channels and colleagues."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.invite import INVITE_PERMISSIONS
from emulator import DiscordEmulator
from emulator.state import Application, Guild, Role

CHANNELS = ("welcome", "general", "resources", "questions")
# username -> display name; the first one is who you are when the sandbox starts.
COLLEAGUES = {
    "ana": "Ana (7th-grade science)",
    "ben": "Ben (high-school history)",
    "chloe": "Chloe (K-2 literacy coach)",
    "dev": "Dev (teacher-prep student)",
}
ADMIN = ("maya", "Maya (community lead)")


@dataclass
class DemoWorld:
    app: Application
    guild: Guild
    teachers: Role
    channels: dict[str, int] = field(default_factory=dict)
    members: dict[str, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)


def build_demo_world(emulator: DiscordEmulator) -> DemoWorld:
    app = emulator.create_application(name="PLN Coach")
    admin = emulator.create_user(ADMIN[0], global_name=ADMIN[1])
    guild = emulator.create_guild("Demo Educators", owner_id=admin.id)
    teachers = emulator.create_role(guild.id, "Teachers", permissions=0, mentionable=True)
    bot_role = emulator.create_role(guild.id, "PLN Coach", permissions=INVITE_PERMISSIONS.value)
    world = DemoWorld(app=app, guild=guild, teachers=teachers)
    world.members[ADMIN[0]] = admin.id
    world.names[admin.id] = ADMIN[1]
    for username, display_name in COLLEAGUES.items():
        user = emulator.create_user(username, global_name=display_name)
        emulator.add_member(guild.id, user.id, roles=(teachers.id,))
        world.members[username] = user.id
        world.names[user.id] = display_name
    for name in CHANNELS:
        channel = emulator.create_text_channel(guild.id, name)
        world.channels[name] = channel.id
        world.names[channel.id] = name
    guild.system_channel_id = world.channels["welcome"]  # newcomers are welcomed there
    emulator.add_member(guild.id, app.bot_user.id, roles=(bot_role.id,))
    world.names[app.bot_user.id] = "PLN Coach"
    world.names[teachers.id] = teachers.name
    return world
