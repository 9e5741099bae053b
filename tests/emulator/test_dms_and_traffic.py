"""A user who closes their DMs, and the per-bot traffic counts a benchmark reads from outside."""

from __future__ import annotations

import asyncio
import time

import discord
import pytest
from discord.ext import commands

from emulator.traffic import messages_by, request_counts

from .conftest import Harness, HarnessFactory


async def test_closed_dms_refuse_the_bots_messages_with_50007(
    harness: Harness, running_bot: commands.Bot
) -> None:
    emu = harness.emu
    ana = await running_bot.fetch_user(harness.ana.id)
    await ana.send("before")
    emu.close_dms(harness.ana.id)
    # Opening the DM channel still works on Discord; sending to it is what is refused.
    channel = await ana.create_dm()
    with pytest.raises(discord.Forbidden) as caught:
        await channel.send("a nudge")
    assert caught.value.status == 403
    assert caught.value.code == 50007
    assert caught.value.text == "Cannot send messages to this user"
    ben = await running_bot.fetch_user(harness.ben.id)
    await ben.send("still fine")  # only Ana closed hers
    dm = emu.dm_channel(harness.ana.id, harness.app.bot_user.id)
    assert [m.content for m in emu.messages_in(dm.id)] == ["before"]
    # Ana can still write to the bot, and the bot still posts in the server she shares with it.
    await emu.send_message(dm.id, harness.ana.id, "hello from me")
    general = running_bot.get_channel(harness.general.id)
    assert isinstance(general, discord.TextChannel)
    await general.send("in the server")

    emu.open_dms(harness.ana.id)
    await channel.send("after reopening")
    assert [m.content for m in emu.messages_in(dm.id)] == [
        "before",
        "hello from me",
        "after reopening",
    ]
    with pytest.raises(ValueError, match="unknown user"):
        emu.close_dms(123)


async def test_requests_and_429s_are_counted_per_bot(make_harness: HarnessFactory) -> None:
    harness = await make_harness(global_rate_limit=3)
    emu = harness.emu
    bot = await harness.start(harness.make_bot())
    since = time.monotonic()
    channel = bot.get_channel(harness.general.id)
    assert isinstance(channel, discord.TextChannel)
    emu.inject_rate_limit("POST", f"/channels/{harness.general.id}/messages", retry_after=0.1)
    view = discord.ui.View()
    view.add_item(discord.ui.Button(label="Done", custom_id="pln:test:1"))
    await channel.send(
        embed=discord.Embed(title="t").set_footer(text="a footer"),
        view=view,
    )
    # Four at once against a global limit of 3 a second: at least one global 429.
    await asyncio.gather(*(channel.send(f"burst {i}") for i in range(4)))

    counts = request_counts(emu.requests, application_id=harness.app.id, since=since)
    assert counts["by_route"]["POST /channels/{channel_id}/messages"] == counts["requests"]
    assert counts["rate_limited_route"] == 1  # the injected one
    assert counts["rate_limited_global"] >= 1
    assert counts["rate_limited"] == counts["rate_limited_route"] + counts["rate_limited_global"]
    assert counts["requests"] - counts["rate_limited"] == 5
    assert counts["by_status"]["200"] == 5
    assert counts["first_at"] >= since
    other = request_counts(emu.requests, application_id=harness.app.id + 1)
    assert other["requests"] == 0
    assert other["first_at"] is None
    later = request_counts(emu.requests, since=time.monotonic())
    assert later["requests"] == 0

    made = messages_by(emu.world, harness.app.bot_user.id)
    assert len(made) == 5
    assert made[0]["markers"] == ["pln:test:1", "a footer"]
    assert made[0]["guild_id"] == str(harness.guild.id)
    assert abs(made[0]["created_at"] - time.time()) < 60
    assert messages_by(emu.world, harness.app.bot_user.id, after=int(made[3]["id"])) == made[4:]
