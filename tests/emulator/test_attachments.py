"""Files in interaction answers: multipart bodies become attachments a test can open."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import discord
from discord import app_commands
from PIL import Image

from emulator.interactions import ATTACHMENT_SIZE_LIMIT
from emulator.messages import attached_file

from .conftest import Harness

PNG_SIZE = (40, 30)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", PNG_SIZE, (0, 114, 178)).save(buffer, format="PNG")
    return buffer.getvalue()


def card_file(filename: str = "progress-card.png") -> discord.File:
    return discord.File(io.BytesIO(png()), filename=filename, description="Your four habits")


async def start_with(harness: Harness, callback: app_commands.Command[Any, ..., Any]) -> None:
    bot = harness.make_bot()
    bot.tree.add_command(callback)
    await harness.start(bot)
    await bot.tree.sync()


async def test_a_deferred_answer_edited_with_an_image_carries_it(harness: Harness) -> None:
    returned: list[discord.InteractionMessage] = []

    @app_commands.command(name="progress", description="Progress")
    async def progress(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        embed = discord.Embed(title="Ana").set_image(url="attachment://progress-card.png")
        returned.append(
            await interaction.edit_original_response(embed=embed, attachments=[card_file()])
        )

    await start_with(harness, progress)
    ix = await harness.emu.run_slash_command(
        harness.guild.id, harness.general.id, harness.ana.id, "progress"
    )
    message = await ix.wait_original_edit()
    assert len(message.attachments) == 1
    attachment = message.attachments[0]
    assert attachment["filename"] == "progress-card.png"
    assert attachment["size"] == len(png())
    assert attachment["content_type"] == "image/png"
    assert (attachment["width"], attachment["height"]) == PNG_SIZE
    assert attachment["description"] == "Your four habits"
    assert attachment["ephemeral"] is True
    assert attachment["url"].endswith("/progress-card.png")
    assert message.attachment_data == [png()]
    assert attached_file(message, "progress-card.png") == png()
    with Image.open(io.BytesIO(message.attachment_data[0])) as picture:
        assert picture.size == PNG_SIZE
    assert message.embeds[0]["image"]["url"] == "attachment://progress-card.png"
    # discord.py reads the attachment back from the response.
    assert returned[0].attachments[0].filename == "progress-card.png"
    assert returned[0].attachments[0].content_type == "image/png"
    assert returned[0].attachments[0].width == PNG_SIZE[0]


async def test_a_followup_and_a_direct_reply_carry_files(harness: Harness) -> None:
    @app_commands.command(name="card", description="Card")
    async def card(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Here it is", file=card_file("first.png"))
        await interaction.followup.send(
            "And a note", file=discord.File(io.BytesIO(b"hello\n"), filename="note.txt")
        )

    await start_with(harness, card)
    ix = await harness.emu.run_slash_command(
        harness.guild.id, harness.general.id, harness.ana.id, "card"
    )
    reply = await ix.wait_original_edit()
    assert [a["filename"] for a in reply.attachments] == ["first.png"]
    assert "ephemeral" not in reply.attachments[0]
    assert reply.attachment_data == [png()]
    (followup,) = await ix.wait_followups(1)
    (note,) = followup.attachments
    assert (note["filename"], note["size"]) == ("note.txt", 6)
    assert note["content_type"].startswith("text/plain")
    assert "width" not in note
    assert followup.attachment_data == [b"hello\n"]


async def test_edits_keep_append_and_drop_attachments_as_documented(harness: Harness) -> None:
    """Files in an edit are added; the ``attachments`` list says which old ones stay."""
    seen: list[list[str]] = []
    done = asyncio.Event()

    @app_commands.command(name="card", description="Card")
    async def card(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("v1", file=card_file("one.png"))
        original = await interaction.original_response()
        # discord.py sends the kept attachment by id and the new file by its index.
        edited = await interaction.edit_original_response(
            attachments=[*original.attachments, card_file("two.png")]
        )
        seen.append([a.filename for a in edited.attachments])
        edited = await interaction.edit_original_response(attachments=[card_file("three.png")])
        seen.append([a.filename for a in edited.attachments])
        edited = await interaction.edit_original_response(content="no files", attachments=[])
        seen.append([a.filename for a in edited.attachments])
        done.set()

    await start_with(harness, card)
    ix = await harness.emu.run_slash_command(
        harness.guild.id, harness.general.id, harness.ana.id, "card"
    )
    await asyncio.wait_for(done.wait(), 5)
    assert seen == [["one.png", "two.png"], ["three.png"], []]
    message = ix.original_message
    assert message is not None
    assert message.content == "no files"
    assert (message.attachments, message.attachment_data) == ([], [])


async def test_an_edit_with_a_file_and_no_attachments_list_appends(harness: Harness) -> None:
    """Discord's Edit Message: files are appended unless ``attachments`` says otherwise."""
    bot = harness.make_bot()
    await harness.start(bot)
    channel = bot.get_channel(harness.general.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("with one", file=card_file("one.png"))
    route = discord.http.Route(
        "PATCH",
        "/channels/{channel_id}/messages/{message_id}",
        channel_id=channel.id,
        message_id=sent.id,
    )
    files = [card_file("two.png")]
    form: list[dict[str, Any]] = [
        {"name": "payload_json", "value": json.dumps({"content": "with two"})},
        {
            "name": "files[0]",
            "value": files[0].fp,
            "filename": "two.png",
            "content_type": "application/octet-stream",
        },
    ]
    payload = await bot.http.request(route, form=form, files=files)
    assert [a["filename"] for a in payload["attachments"]] == ["one.png", "two.png"]
    record = harness.emu.get_message(sent.id)
    assert record is not None
    assert record.attachment_data == [png(), png()]


async def test_a_file_over_the_size_limit_is_refused(harness: Harness) -> None:
    outcome: list[int] = []

    @app_commands.command(name="big", description="Big")
    async def big(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        huge = discord.File(io.BytesIO(b"\0" * (ATTACHMENT_SIZE_LIMIT + 1)), filename="big.bin")
        try:
            await interaction.followup.send(file=huge)
        except discord.HTTPException as error:
            outcome.append(error.code)
        await interaction.followup.send("too big")

    await start_with(harness, big)
    ix = await harness.emu.run_slash_command(
        harness.guild.id, harness.general.id, harness.ana.id, "big"
    )
    message = await ix.wait_original_edit()
    assert outcome == [40005]
    assert message.content == "too big"
    assert message.attachments == []
