"""Privacy end to end: /privacy show, export, pause, resume and forget; a server's data deleted
after the bot is removed from it, and at once with `pln-coach purge-server`.

After forgetting, every table is scanned: no column that can hold a member's or a server's id
still holds the forgotten one (``tests.services.test_privacy.mentions``).
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import PLNCoachBot
from bot.db import ActivityEvent, Resource, Server
from bot.services.privacy import IMPERSONAL_POSTS, OUTBOX_SUBJECTS
from emulator import DiscordEmulator
from emulator.state import Message
from tests.conftest import environment_without_bot_settings
from tests.e2e.conftest import BotProcess, Community
from tests.e2e.helpers import (
    EPHEMERAL,
    answer_of,
    bot_posts,
    count_rows,
    eventually,
    run_command,
)
from tests.e2e.test_connect import ANA_INTRO, introduce
from tests.services.test_privacy import mentions

UPDATE_MESSAGE = 7


def deleted(emu: DiscordEmulator, message_id: int) -> bool:
    message = emu.get_message(message_id)
    return message is None or message.deleted


async def _settle(bot: PLNCoachBot) -> None:
    """Let the gateway events reach the bot, then store what it queued."""
    await asyncio.sleep(0.2)
    while bot.ingest.backlog:
        await bot.ingest.flush()


async def share(community: Community, user_id: int, url: str, guild_id: int | None = None) -> None:
    emu = community.emulator
    guild = guild_id or community.guild.id
    channel = community.general.id if guild == community.guild.id else None
    if channel is None:
        channel = next(c.id for c in emu.world.channels.values() if c.guild_id == guild)
    ix = await emu.run_slash_command(guild, channel, user_id, "share", {"url": url})
    assert "Shared!" in (await answer_of(ix)).content


async def press(community: Community, message: Message, user_id: int, label: str) -> str:
    """Press a button on the (ephemeral) confirmation; the answer the presser sees."""
    emu = community.emulator
    [button] = [
        b for row in message.components for b in row["components"] if b.get("label") == label
    ]
    ix = await emu.press_button(message.id, button["custom_id"], user_id)
    response = await ix.wait_response()
    if response.type == UPDATE_MESSAGE:  # the confirmation itself is edited

        def edited() -> str:
            found = emu.get_message(message.id)
            return found.content if found is not None else ""

        await eventually(lambda: "Forgetting" not in edited(), what="the forget to finish")
        return edited()
    return (await answer_of(ix)).content


async def test_show_and_export_say_what_is_stored_privately(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    ana, ben = community.ana.id, community.ben.id
    await share(community, ana, "https://example.org/fractions")
    post = await emu.send_message(community.general.id, ana, "Tips?")
    await emu.send_message(community.general.id, ben, "Exit tickets", reply_to=post.id)
    await _settle(coach)

    shown = await run_command(community, ana, "privacy show")
    assert shown.flags & EPHEMERAL
    assert "1 × shares" in shown.content
    assert "activity events" in shown.content
    assert "**Tracking:** on" in shown.content

    exported = await run_command(community, ana, "privacy export")
    assert exported.flags & EPHEMERAL
    [attachment] = exported.attachments
    assert attachment["filename"] == f"pln-coach-{community.guild.id}-{ana}.json"
    data = json.loads(exported.attachment_data[0])
    assert data["user_id"] == str(ana)
    [resource] = data["tables"]["resources"]
    assert resource["url"] == "https://example.org/fractions"
    assert {event["kind"] for event in data["tables"]["activity_events"]} >= {"share", "reply"}
    assert "interaction_token" not in exported.attachment_data[0].decode()
    # Ben's export holds his reply to Ana, not her share.
    bens = json.loads((await run_command(community, ben, "privacy export")).attachment_data[0])
    assert bens["tables"]["resources"] == []
    # Every kind of post the bot makes is either about nobody or known to forgetting.
    assert set(coach.renderers.posts) <= set(OUTBOX_SUBJECTS) | IMPERSONAL_POSTS


async def test_pause_stores_nothing_new_and_hides_the_member_until_resume(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    ana, ben = community.ana.id, community.ben.id
    await introduce(community, ana, ANA_INTRO)
    await introduce(community, ben, {**ANA_INTRO, "Your role": "Biology teacher"})
    suggested = await run_command(community, ben, "connect suggest")
    assert f"<@{ana}>" in suggested.content

    paused = await run_command(community, ana, "privacy pause")
    assert paused.flags & EPHEMERAL
    assert paused.content.startswith("Paused")
    before = await count_rows(coach, ActivityEvent)
    post = await emu.send_message(community.general.id, ana, "My plan")
    await emu.send_message(community.general.id, ben, "Nice", reply_to=post.id)  # to her
    theirs = await emu.send_message(community.general.id, ben, "Mine")
    await emu.send_message(community.general.id, ana, "Cool", reply_to=theirs.id)  # by her
    await emu.add_reaction(community.general.id, post.id, ben, "👍")
    await emu.add_reaction(community.general.id, theirs.id, ana, "👍")
    await _settle(coach)
    assert await count_rows(coach, ActivityEvent) == before
    refused = await run_command(community, ana, "share", {"url": "https://example.org/p"})
    assert "Tracking is paused" in refused.content
    assert "/privacy resume" in refused.content
    assert await count_rows(coach, Resource) == 0
    intro = await run_command(community, ana, "connect intro")  # refused before the form opens
    assert "Tracking is paused" in intro.content
    assert intro.flags & EPHEMERAL
    assert f"<@{ana}>" not in (await run_command(community, ben, "connect suggest")).content
    assert "paused" in (await run_command(community, ana, "privacy show")).content

    resumed = await run_command(community, ana, "privacy resume")
    assert resumed.content.startswith("Resumed")
    assert f"<@{ana}>" in (await run_command(community, ben, "connect suggest")).content
    await emu.send_message(community.general.id, ben, "Again", reply_to=post.id)
    await eventually(lambda: count_rows(coach, ActivityEvent, ActivityEvent.other_member_id == ana))


async def test_forget_asks_first_and_then_leaves_nothing_about_the_member(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    ana, ben = community.ana.id, community.ben.id
    guild = community.guild.id
    await introduce(community, ana, ANA_INTRO)
    await share(community, ana, "https://example.org/ana")
    await share(community, ben, "https://example.org/ben")
    ana_card, ben_card = bot_posts(community, community.general.id)[-2:]
    post = await emu.send_message(community.general.id, ana, "Tips?")
    await emu.send_message(community.general.id, ben, "Try this", reply_to=post.id)
    await emu.add_reaction(community.general.id, ben_card.id, ana, "👍")
    await _settle(coach)
    database = coach.services.database
    assert len(await mentions(database, ana, server_id=guild)) > 10

    confirm = await run_command(community, ana, "privacy forget")
    assert confirm.flags & EPHEMERAL
    assert "It can't be undone" in confirm.content
    assert "stay on Discord" in confirm.content
    # Only Ana can press her buttons: Discord shows her private answer to her alone (and the
    # button checks who pressed it anyway).
    with pytest.raises(PermissionError):
        await press(community, confirm, ben, "Forget me")
    assert "Nothing was deleted" in await press(community, confirm, ana, "Cancel")
    assert await mentions(database, ana, server_id=guild)

    confirm = await run_command(community, ana, "privacy forget")
    done = await press(community, confirm, ana, "Forget me")
    assert done.startswith("Done: I deleted everything I stored about you in this server")
    assert await mentions(database, ana, server_id=guild) == []
    # Ben's share and card stay; the cards the bot posted about Ana are deleted.
    assert await count_rows(coach, Resource, Resource.shared_by == ben) == 1
    await eventually(lambda: deleted(emu, ana_card.id), what="Ana's card deleted")
    assert not deleted(emu, ben_card.id)
    shown = await run_command(community, ana, "privacy show")
    assert "Nothing at all" in shown.content


async def test_forget_from_a_dm_forgets_the_member_in_every_server(
    bot_process: BotProcess, community: Community
) -> None:
    emu = community.emulator
    ana, ben = community.ana.id, community.ben.id
    second = emu.create_guild("Second School", owner_id=community.admin.id)
    emu.create_text_channel(second.id, "lounge")
    for user in (ana, ben, community.app.bot_user.id):
        emu.add_member(second.id, user)
    coach = await bot_process.start()
    await share(community, ana, "https://example.org/one")
    await share(community, ana, "https://example.org/two", guild_id=second.id)
    await share(community, ben, "https://example.org/three", guild_id=second.id)
    database = coach.services.database
    assert await mentions(database, ana, server_id=second.id)

    ix = await emu.run_dm_command(ana, "privacy forget")
    confirm = await answer_of(ix)
    assert "in every server" in confirm.content
    assert "Second School" in confirm.content
    assert "Demo Educators" in confirm.content
    done = await press(community, confirm, ana, "Forget me")
    assert done.startswith("Done: I deleted everything I stored about you in every server")
    assert await mentions(database, ana) == []
    assert await mentions(database, ben, server_id=second.id)
    # The other subcommands need a server, and say so.
    shown = await answer_of(await emu.run_dm_command(ana, "privacy show"))
    assert "inside a server" in shown.content


async def test_a_server_that_removed_the_bot_is_deleted_after_the_retention_period(
    bot_process: BotProcess, community: Community
) -> None:
    emu = community.emulator
    guild = community.guild.id
    coach = await bot_process.start()
    await share(community, community.ana.id, "https://example.org/one")
    database = coach.services.database

    async def removed() -> bool:
        async with database.read() as session:
            at = await session.scalar(select(Server.removed_at).where(Server.id == guild))
            return at is not None

    emu.remove_member(guild, community.app.bot_user.id)
    await eventually(removed, what="the server marked removed")
    bot_process.clock.shift(timedelta(days=29))  # the hourly sweep runs: too early
    await asyncio.sleep(0.5)
    assert await count_rows(coach, Server) == 1
    bot_process.clock.shift(timedelta(days=2))

    async def nothing_left() -> bool:
        return await mentions(database, guild) == []

    await eventually(nothing_left, 10, what="every row of the server gone")


async def test_a_server_the_bot_came_back_to_is_kept(
    bot_process: BotProcess, community: Community
) -> None:
    emu = community.emulator
    guild = community.guild.id
    coach = await bot_process.start()
    await share(community, community.ana.id, "https://example.org/one")
    emu.remove_member(guild, community.app.bot_user.id)
    await bot_process.stop()  # invited back while the bot was down
    emu.add_member(guild, community.app.bot_user.id, roles=(community.bot_role.id,))
    coach = await bot_process.start()
    bot_process.clock.shift(timedelta(days=40))
    await asyncio.sleep(0.5)
    assert await count_rows(coach, Server, Server.removed_at.is_(None)) == 1


async def test_purge_server_on_the_command_line_deletes_it_at_once(
    bot_process: BotProcess, community: Community, database_url: str, tmp_path: Path
) -> None:
    emu = community.emulator
    guild = community.guild.id
    coach = await bot_process.start()
    await share(community, community.ana.id, "https://example.org/one")
    await introduce(community, community.ben.id, ANA_INTRO)
    post = await emu.send_message(community.general.id, community.ana.id, "Hi")
    await emu.send_message(community.general.id, community.ben.id, "Hey", reply_to=post.id)
    await _settle(coach)
    database = coach.services.database
    assert len(await mentions(database, guild)) > 10
    emu.remove_member(guild, community.app.bot_user.id)
    await bot_process.stop()

    async def pln_coach(*args: str) -> tuple[int, str]:
        environment = {**environment_without_bot_settings(), "PLN_DATABASE__URL": database_url}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            cwd=tmp_path,
            env=environment,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode is not None
        return process.returncode, output.decode()

    code, output = await pln_coach("purge-server", str(guild))
    assert code == 0, output
    assert f"Deleted everything stored about server {guild} ('Demo Educators')" in output
    assert "resources: 1" in output
    coach = await bot_process.start()  # (the bot is no longer in the server)
    assert await mentions(coach.services.database, guild) == []

    code, output = await pln_coach("purge-server", str(guild))
    assert code == 1
    assert f"nothing is stored about a server with ID {guild}" in output
    code, output = await pln_coach("purge-server", "my-school")
    assert code == 2
    assert "a server ID is a number" in output


async def test_the_forget_button_still_works_after_a_restart(
    bot_process: BotProcess, community: Community
) -> None:
    """A member asks to be forgotten, the bot restarts, then they press the button."""
    ana = community.ana.id
    coach = await bot_process.start()
    await share(community, ana, "https://example.org/before-restart")
    confirm = await run_command(community, ana, "privacy forget")
    coach = await bot_process.restart()
    done = await press(community, confirm, ana, "Forget me")
    assert done.startswith("Done: I deleted everything I stored about you in this server")
    assert await count_rows(coach, Resource) == 0
