"""A local Discord emulator (REST API v10 + gateway) for end-to-end tests, benchmarks and a sandbox.

The unmodified discord.py client runs against it over real HTTP and websockets once
``bot.discord_endpoints.apply_discord_endpoints(emu.api_base_url, emu.gateway_url)`` was called.
"""

from .emulator import DiscordEmulator
from .errors import APIError
from .gateway import GatewaySession
from .interactions import Interaction, InteractionResponse
from .options import OptionError
from .permissions import DEFAULT_EVERYONE_PERMISSIONS, P
from .ratelimits import RouteLimit
from .rest import RecordedRequest
from .state import Application, Channel, Guild, Member, Message, Overwrite, Pings, Role, User

__all__ = [
    "DEFAULT_EVERYONE_PERMISSIONS",
    "APIError",
    "Application",
    "Channel",
    "DiscordEmulator",
    "GatewaySession",
    "Guild",
    "Interaction",
    "InteractionResponse",
    "Member",
    "Message",
    "OptionError",
    "Overwrite",
    "P",
    "Pings",
    "RecordedRequest",
    "Role",
    "RouteLimit",
    "User",
]
