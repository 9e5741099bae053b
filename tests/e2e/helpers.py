"""Acting as a member in the emulator and reading what the member would see."""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select

from bot.app import PLNCoachBot
from emulator import DiscordEmulator
from emulator.interactions import Interaction
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
    return await answer_of(ix)


async def press_button(
    community: Community, message: Message, user_id: int, *, index: int = 0
) -> Message:
    """Press a button on a message and return the answer the member finally sees."""
    button = [b for row in message.components for b in row["components"]][index]
    ix = await community.emulator.press_button(message.id, button["custom_id"], user_id)
    return await answer_of(ix)


async def answer_of(ix: Interaction, timeout: float = 5) -> Message:  # noqa: ASYNC109
    response = await ix.wait_response(timeout=timeout)
    if response.type == DEFERRED:
        return await ix.wait_original_edit(timeout=timeout)
    assert response.type == MESSAGE, response
    assert ix.original_message is not None
    return ix.original_message


async def answer_when(
    ix: Interaction,
    done: Callable[[str], bool],
    timeout: float = 10,  # noqa: ASYNC109
) -> str:
    """The member's answer once it says what ``done`` looks for (answers may be edited again)."""

    def content() -> str:
        message = ix.original_message
        return message.content if message is not None else ""

    await eventually(lambda: done(content()), timeout, f"the answer; it reads: {content()!r}")
    return content()


def text_of(message: Message) -> str:
    """Everything a member can read in a message: content and embed text."""
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [embed.get("author", {}).get("name", ""), embed.get("footer", {}).get("text", "")]
        for field in embed.get("fields", []):
            parts += [field["name"], field["value"]]
    return "\n".join(parts)


def as_rendered(text: str) -> str:
    """What a member reads once Discord has rendered it: backslash escapes disappear."""
    return re.sub(r"\\([^0-9A-Za-z\s])", r"\1", text)


def bot_posts(community: Community, channel_id: int) -> list[Message]:
    """Public messages the bot posted in a channel (not interaction answers)."""
    return [
        message
        for message in community.emulator.messages_in(channel_id)
        if message.author_id == community.app.bot_user.id
        and not message.ephemeral
        and message.interaction_id is None
    ]


async def count_rows(bot: PLNCoachBot, model: type, *where: Any) -> int:
    async with bot.services.database.read() as session:
        query = select(func.count()).select_from(model).where(*where)
        return await session.scalar(query) or 0


async def eventually(
    check: Callable[[], object | Awaitable[object]],
    timeout: float = 5,  # noqa: ASYNC109
    what: str = "it to happen",
) -> None:
    """Wait until ``check()`` (plain or async) is truthy; the bot acts in between."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if await result if inspect.isawaitable(result) else result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
