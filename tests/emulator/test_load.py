"""The emulator's load runner (``emulator.load``) counts completions and first responses right."""

from __future__ import annotations

import asyncio
from typing import Any

import discord

from emulator.load import LoadRun, LoadSpec

from .conftest import Harness

ANSWER_DELAY = 0.05


async def start_bot(harness: Harness) -> discord.Client:
    bot = harness.make_bot()

    @bot.tree.command(name="slow", description="Acknowledge, wait a little, answer")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await asyncio.sleep(ANSWER_DELAY)
        await interaction.edit_original_response(content="done")

    @bot.tree.command(name="twice", description="Answer, then edit the answer once more")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.edit_original_response(content="on its way")
        await asyncio.sleep(ANSWER_DELAY)
        await interaction.edit_original_response(content="is up")

    await harness.start(bot)
    await bot.tree.sync()
    return bot


def spec(harness: Harness, **fields: Any) -> LoadSpec:
    return LoadSpec.from_json(
        {
            "application_id": harness.app.id,
            "guild_id": harness.guild.id,
            "channels": [harness.general.id],
            "users": [harness.ana.id, harness.ben.id],
            "settle": 0.2,
            **fields,
        }
    )


async def test_a_closed_loop_counts_every_completion_from_dispatch_to_final_answer(
    harness: Harness,
) -> None:
    await start_bot(harness)
    figures = await LoadRun(harness.emu, spec(harness, command="slow", n=12, in_flight=4)).run()
    assert figures["completed"] == 12
    assert figures["failed"] == 0
    assert figures["extra_answers"] == 0
    assert figures["token_calls"] == 24  # an acknowledgement and an edit each
    first, completion = figures["first_response_ms"], figures["completion_ms"]
    assert all(f < ANSWER_DELAY * 1000 <= c for f, c in zip(first, completion, strict=True))
    # Four at a time, each at least ANSWER_DELAY: three rounds at the very least.
    assert figures["wall_s"] >= 3 * ANSWER_DELAY
    assert figures["throughput"] == 12 / figures["wall_s"]


async def test_a_paced_run_times_an_answer_edited_again_at_its_last_edit(
    harness: Harness,
) -> None:
    await start_bot(harness)
    figures = await LoadRun(
        harness.emu, spec(harness, command="twice", n=5, rate=50, trace=True)
    ).run()
    assert figures["completed"] == 5
    assert figures["extra_answers"] == 5  # "on its way", then "is up"
    assert all(c >= ANSWER_DELAY * 1000 for c in figures["completion_ms"])
    calls = [call for _, call, _ in figures["trace"]]
    assert calls.count("POST /interactions/{interaction_id}/{interaction_token}/callback") == 5
    assert len(calls) == 15


async def test_a_command_the_member_cannot_run_is_counted_as_failed(harness: Harness) -> None:
    await start_bot(harness)
    figures = await LoadRun(harness.emu, spec(harness, command="missing", n=2, in_flight=1)).run()
    assert figures["completed"] == 0
    assert figures["failed"] == 2
    assert "not started" in next(iter(figures["errors"]))
