"""Sync slash commands only when they changed.

Discord allows 200 command creations per day per server; syncing on every start burns through
that during development and slows every restart. We keep a hash of what we last synced, per
application and scope, in the database and sync only when the command set differs (or when an
operator runs ``pln-coach sync``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import discord
from discord import app_commands

from bot.services.bot_state import BotStateStore

log = logging.getLogger(__name__)


def command_set_hash(tree: app_commands.CommandTree[Any], guild: discord.Object | None) -> str:
    payload = [command.to_dict(tree) for command in tree.get_commands(guild=guild)]
    payload.sort(key=lambda item: (item.get("type", 1), item["name"]))
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


async def sync_commands(
    tree: app_commands.CommandTree[Any],
    state: BotStateStore,
    *,
    application_id: int,
    dev_guild_id: int | None,
    force: bool = False,
) -> bool:
    """Sync the commands of one scope (the dev server, or global); returns whether it synced."""
    guild = discord.Object(id=dev_guild_id) if dev_guild_id else None
    if guild is not None:
        tree.copy_global_to(guild=guild)
    scope = f"guild:{dev_guild_id}" if dev_guild_id else "global"
    key = f"commands:{application_id}:{scope}"
    digest = command_set_hash(tree, guild)
    if not force and await state.get(key) == digest:
        log.info("Slash commands unchanged (%s); not syncing", scope)
        return False
    synced = await tree.sync(guild=guild)
    await state.set(key, digest)
    log.info("Synced %d slash commands (%s)", len(synced), scope)
    return True
