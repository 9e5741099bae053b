"""Channel messages: Discord's errors, permissions, limits, pings, nonces and intents."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord.ext import commands

from emulator import P

from .conftest import Harness


async def test_send_to_unknown_channel_is_not_found(
    harness: Harness, running_bot: commands.Bot
) -> None:
    with pytest.raises(discord.NotFound) as caught:
        await running_bot.http.send_message(123456789012345678, params=_params("hi"))
    assert caught.value.code == 10003


def _params(content: str, **kwargs: object) -> discord.http.MultipartParameters:
    return discord.http.handle_message_parameters(content=content, **kwargs)  # type: ignore[arg-type]


async def test_missing_send_permission_is_forbidden(
    harness: Harness, running_bot: commands.Bot
) -> None:
    emu = harness.emu
    role = emu.bot_role(harness.guild.id, harness.app.bot_user.id)
    assert role is not None
    emu.set_permission_overwrite(harness.general.id, role.id, deny=P.SEND_MESSAGES)
    channel = running_bot.get_channel(harness.general.id)
    assert isinstance(channel, discord.TextChannel)
    await asyncio.sleep(0.05)  # let CHANNEL_UPDATE reach the cache
    assert not channel.permissions_for(channel.guild.me).send_messages
    with pytest.raises(discord.Forbidden) as caught:
        await channel.send("hello")
    assert caught.value.code == 50013
    emu.set_permission_overwrite(harness.general.id, harness.guild.id, deny=P.VIEW_CHANNEL)
    with pytest.raises(discord.Forbidden) as hidden:
        await channel.send("hello")
    assert hidden.value.code == 50001


async def test_limits_are_enforced(harness: Harness, running_bot: commands.Bot) -> None:
    channel = running_bot.get_channel(harness.general.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as too_long:
        await channel.send("x" * 2001)
    assert too_long.value.status == 400
    assert too_long.value.code == 50035
    assert "content" in str(too_long.value)
    with pytest.raises(discord.HTTPException) as big_embed:
        await channel.send(embed=discord.Embed(title="t" * 257))
    assert big_embed.value.code == 50035
    with pytest.raises(discord.HTTPException) as empty:
        await running_bot.http.send_message(harness.announcements.id, params=_params(""))
    assert empty.value.code == 50006
    view = discord.ui.View()
    for index in range(6):
        view.add_item(discord.ui.Button(label=str(index), custom_id=f"b{index}", row=index % 5))
    with pytest.raises(discord.HTTPException):
        await running_bot.http.request(
            discord.http.Route(
                "POST", "/channels/{channel_id}/messages", channel_id=harness.announcements.id
            ),
            json={
                "content": "rows",
                "components": [
                    {
                        "type": 1,
                        "components": [{"type": 2, "style": 1, "label": "x", "custom_id": str(i)}],
                    }
                    for i in range(6)
                ],
            },
        )
    sent = await channel.send("ok", embed=discord.Embed(title="fine", description="d"))
    stored = harness.emu.get_message(sent.id)
    assert stored is not None
    assert stored.embeds[0]["title"] == "fine"


async def test_pings_follow_allowed_mentions(harness: Harness, running_bot: commands.Bot) -> None:
    channel = running_bot.get_channel(harness.general.id)
    assert isinstance(channel, discord.TextChannel)
    text = f"@everyone <@{harness.ana.id}> <@&{harness.teachers.id}>"
    quiet = await channel.send(text, allowed_mentions=discord.AllowedMentions.none())
    loud = await channel.send(text)
    record_quiet = harness.emu.get_message(quiet.id)
    record_loud = harness.emu.get_message(loud.id)
    assert record_quiet is not None
    assert not record_quiet.pings.any
    assert record_loud is not None
    assert record_loud.pings.users == {harness.ana.id}
    assert record_loud.pings.roles == {harness.teachers.id}
    assert record_loud.pings.everyone
    assert loud.mention_everyone
    assert [m.id for m in loud.mentions] == [harness.ana.id]


async def test_everyone_needs_permission_and_replies_ping(
    harness: Harness, running_bot: commands.Bot
) -> None:
    emu = harness.emu
    emu.edit_role(
        harness.guild.id, permissions=int(P.VIEW_CHANNEL | P.SEND_MESSAGES | P.READ_MESSAGE_HISTORY)
    )
    unmentionable = emu.create_role(harness.guild.id, "Hidden", mentionable=False)
    channel = running_bot.get_channel(harness.general.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send(f"@here <@&{unmentionable.id}>")
    record = emu.get_message(sent.id)
    assert record is not None
    assert not record.pings.any
    question = await emu.send_message(harness.general.id, harness.ana.id, "question?")
    original = await channel.fetch_message(question.id)
    reply = await original.reply("answer")
    silent = await original.reply("answer", mention_author=False)
    assert emu.get_message(reply.id).pings.users == {harness.ana.id}  # type: ignore[union-attr]
    assert not emu.get_message(silent.id).pings.any  # type: ignore[union-attr]


async def test_user_messages_reach_the_bot_without_content(
    harness: Harness, running_bot: commands.Bot
) -> None:
    received: list[discord.Message] = []

    async def on_message(message: discord.Message) -> None:
        received.append(message)

    running_bot.add_listener(on_message)
    await harness.emu.send_message(harness.general.id, harness.ana.id, "hello there")
    await harness.emu.send_message(
        harness.general.id, harness.ana.id, f"hi <@{harness.app.bot_user.id}>"
    )
    for _ in range(100):
        if len(received) == 2:
            break
        await asyncio.sleep(0.01)
    assert [m.content for m in received] == ["", f"hi <@{harness.app.bot_user.id}>"]
    assert received[0].author.id == harness.ana.id


async def test_message_content_intent_delivers_content(harness: Harness) -> None:
    intents = discord.Intents.default()
    intents.message_content = True
    intents.members = True
    bot = await harness.start(harness.make_bot(intents=intents))
    received: list[discord.Message] = []

    async def on_message(message: discord.Message) -> None:
        received.append(message)

    bot.add_listener(on_message)
    guild = bot.get_guild(harness.guild.id)
    assert guild is not None
    assert guild.get_member(harness.ben.id) is not None
    await harness.emu.send_message(harness.general.id, harness.ana.id, "hello there")
    for _ in range(100):
        if received:
            break
        await asyncio.sleep(0.01)
    assert received[0].content == "hello there"


async def test_enforce_nonce_returns_the_first_message(
    harness: Harness, running_bot: commands.Bot
) -> None:
    route = discord.http.Route(
        "POST", "/channels/{channel_id}/messages", channel_id=harness.general.id
    )
    body = {"content": "once", "nonce": "abc", "enforce_nonce": True}
    first = await running_bot.http.request(route, json=body)
    second = await running_bot.http.request(route, json=body)
    assert first["id"] == second["id"]
    assert [m.content for m in harness.emu.messages_in(harness.general.id)] == ["once"]


async def test_multipart_upload_and_message_routes(
    harness: Harness, running_bot: commands.Bot
) -> None:
    import io

    channel = running_bot.get_channel(harness.general.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("file", file=discord.File(io.BytesIO(b"data"), filename="notes.txt"))
    assert sent.attachments[0].filename == "notes.txt"
    record = harness.emu.get_message(sent.id)
    assert record is not None
    assert record.attachment_data == [b"data"]
    edited = await sent.edit(content="edited")
    assert edited.content == "edited"
    assert edited.edited_at is not None
    history = [m.content async for m in channel.history(limit=10)]
    assert history == ["edited"]
    fetched = await channel.fetch_message(sent.id)
    assert fetched.content == "edited"
    await sent.delete()
    assert harness.emu.messages_in(harness.general.id) == []
    with pytest.raises(discord.NotFound) as caught:
        await channel.fetch_message(sent.id)
    assert caught.value.code == 10008
    harness.emu.remove_channel(harness.announcements.id)
    with pytest.raises(discord.NotFound) as gone:
        await running_bot.http.send_message(harness.announcements.id, params=_params("hi"))
    assert gone.value.code == 10003


async def test_bad_token_is_unauthorized(harness: Harness) -> None:
    bot = harness.make_bot()
    with pytest.raises(discord.LoginFailure):
        await bot.login("not-a-token")
    await bot.close()


async def test_direct_messages_both_ways(harness: Harness, running_bot: commands.Bot) -> None:
    emu = harness.emu
    ana = await running_bot.fetch_user(harness.ana.id)
    sent = await ana.send("a private nudge")
    dm = emu.dm_channel(harness.ana.id, harness.app.bot_user.id)
    assert sent.channel.id == dm.id
    assert [m.content for m in emu.messages_in(dm.id)] == ["a private nudge"]
    received: list[discord.Message] = []

    async def on_message(message: discord.Message) -> None:
        if message.author.id == harness.ana.id:
            received.append(message)

    running_bot.add_listener(on_message)
    await emu.send_message(dm.id, harness.ana.id, "thanks!")
    for _ in range(100):
        if received:
            break
        await asyncio.sleep(0.01)
    assert received[0].content == "thanks!"  # DMs are not hidden by the MESSAGE_CONTENT rule
    assert isinstance(received[0].channel, discord.DMChannel)
    stranger = emu.create_user("stranger")
    user = await running_bot.fetch_user(stranger.id)
    with pytest.raises(discord.Forbidden) as caught:
        await user.send("hello?")
    assert caught.value.code == 50007


async def test_embeds_need_embed_links(harness: Harness, running_bot: commands.Bot) -> None:
    emu = harness.emu
    emu.set_permission_overwrite(harness.general.id, harness.guild.id, deny=P.EMBED_LINKS)
    role = emu.bot_role(harness.guild.id, harness.app.bot_user.id)
    assert role is not None
    emu.set_permission_overwrite(harness.general.id, role.id, deny=P.EMBED_LINKS)
    await asyncio.sleep(0.05)
    channel = running_bot.get_channel(harness.general.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.Forbidden) as caught:
        await channel.send(embed=discord.Embed(title="card"))
    assert caught.value.code == 50013
    kept = await channel.send("text stays", embed=discord.Embed(title="dropped"))
    assert kept.embeds == []
    assert kept.content == "text stays"


async def test_rest_shapes_and_guild_routes(harness: Harness, running_bot: commands.Bot) -> None:
    emu = harness.emu
    await emu.wait_until_ready(timeout=1)
    channel = running_bot.get_channel(harness.general.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send(f"hi <@{harness.ana.id}>")
    record = emu.get_message(sent.id)
    assert record is not None
    payload = record.to_payload()
    documented = {
        "id", "channel_id", "author", "content", "timestamp", "edited_timestamp", "tts",
        "mention_everyone", "mentions", "mention_roles", "attachments", "embeds", "pinned",
        "type", "flags", "components",
    }  # fmt: skip
    assert documented <= set(payload)
    assert payload["mentions"][0]["id"] == str(harness.ana.id)
    member = await channel.guild.fetch_member(harness.ana.id)
    assert harness.teachers.id in [r.id for r in member.roles]
    with pytest.raises(discord.NotFound) as unknown_member:
        await channel.guild.fetch_member(emu.create_user("nobody").id)
    assert unknown_member.value.code == 10007
    route = discord.http.Route("GET", "/guilds/{guild_id}/members", guild_id=harness.guild.id)
    members = await running_bot.http.request(route, params={"limit": 1000})
    assert {int(m["user"]["id"]) for m in members} == set(harness.guild.members)
    fetched = await running_bot.fetch_guild(harness.guild.id)
    assert fetched.name == harness.guild.name
    roles = await channel.guild.fetch_roles()
    assert {r.name for r in roles} >= {"@everyone", "Teachers"}
    with pytest.raises(discord.NotFound) as unknown_guild:
        await running_bot.fetch_guild(123456789012345678)
    assert unknown_guild.value.code == 10004
