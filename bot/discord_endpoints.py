"""Point discord.py at another Discord: a REST proxy, or the local emulator.

discord.py builds every REST URL (webhooks and interaction callbacks included) from
``discord.http.Route.BASE`` and opens its first gateway connection to
``DiscordWebSocket.DEFAULT_GATEWAY``. Both are public class attributes, and setting them is how
REST proxies are used with discord.py, so this is the one place the bot touches them.
"""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl

DISCORD_API_BASE_URL = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"


def apply_discord_endpoints(api_base_url: str, gateway_url: str | None = None) -> None:
    """Send discord.py's REST calls to ``api_base_url`` and its gateway to ``gateway_url``.

    ``api_base_url`` includes the version (``.../api/v10``). With no ``gateway_url`` discord.py's
    default (Discord's own gateway) is restored.
    """
    discord.http.Route.BASE = api_base_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url or DISCORD_GATEWAY_URL)
