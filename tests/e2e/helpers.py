"""Acting as a member in the emulator and reading what the member would see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.app import PLNCoachBot
from emulator import DiscordEmulator
from emulator.state import Message
from tests.e2e.conftest import Community

EPHEMERAL = 1 << 6
DEFERRED = 5
MESSAGE = 4


async def run_command(
    community: Community,
    user_id: int,
    name: str,
    options: dict[str, Any] | None = None,
    *,
    channel_id: int | None = None,
) -> Message:
    """Run a slash command and return the answer the member finally sees.

    A deferred answer ("PLN Coach is thinking...") is followed to the edit that replaces it.
    """
    emu: DiscordEmulator = community.emulator
    ix = await emu.run_slash_command(
        community.guild.id, channel_id or community.general.id, user_id, name, options or {}
    )
    response = await ix.wait_response(timeout=5)
    if response.type == DEFERRED:
        return await ix.wait_original_edit(timeout=5)
    assert response.type == MESSAGE, response
    assert ix.original_message is not None
    return ix.original_message


def text_of(message: Message) -> str:
    """Everything a member can read in a message: content and embed text."""
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [embed.get("author", {}).get("name", ""), embed.get("footer", {}).get("text", "")]
        for field in embed.get("fields", []):
            parts += [field["name"], field["value"]]
    return "\n".join(parts)


def bot_posts(community: Community, channel_id: int) -> list[Message]:
    """Public messages the bot posted in a channel (not interaction answers)."""
    return [
        message
        for message in community.emulator.messages_in(channel_id)
        if message.author_id == community.app.bot_user.id
        and not message.ephemeral
        and message.interaction_id is None
    ]


async def count_rows(bot: PLNCoachBot, model: type) -> int:
    async with bot.services.database.read() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0
