"""/pln setup end to end: channel selects, the schedule, a permission check before saving."""

from __future__ import annotations

from collections.abc import Awaitable

from sqlalchemy import select

from bot.app import PLNCoachBot
from bot.db import Server, WeeklySchedule
from emulator.interactions import Interaction
from emulator.permissions import P
from emulator.state import Message
from tests.e2e.conftest import Community
from tests.e2e.helpers import EPHEMERAL, eventually, run_command, text_of

UPDATED = (6, 7)  # a component's answer: "deferred update" or "update message"


async def act(community: Community, ix: Interaction) -> Message:
    """Wait for the bot to answer a select or button; the flow's message as it now reads."""
    response = await ix.wait_response()
    assert response.type in UPDATED, response
    assert ix.source_message_id is not None
    return current(community, ix.source_message_id)


def current(community: Community, message_id: int) -> Message:
    message = community.emulator.get_message(message_id)
    assert message is not None
    return message


async def pick(community: Community, flow: Message, key: str, *values: object) -> Message:
    ix = await community.emulator.choose_select(
        flow.id, f"pln-setup:{key}", list(values), community.admin.id
    )
    return await act(community, ix)


async def press(community: Community, flow: Message, key: str) -> Message:
    ix = await community.emulator.press_button(flow.id, f"pln-setup:{key}", community.admin.id)
    return await act(community, ix)


async def server_row(coach: PLNCoachBot, community: Community) -> Server | None:
    async with coach.services.database.read() as session:
        return await session.get(Server, community.guild.id)


async def test_setup_checks_every_chosen_channel_before_saving_it_all_at_once(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    general, resources = community.general.id, community.resources.id
    flow = await run_command(
        community, community.admin.id, "pln setup", {"timezone": "America/Chicago"}
    )
    assert flow.flags & EPHEMERAL
    assert "step 1 of 2" in flow.content
    flow = await pick(community, flow, "intros_channel", general)
    flow = await pick(community, flow, "shares_channel", resources)
    flow = await pick(community, flow, "asks_channel", general)
    flow = await pick(community, flow, "challenge", general)
    flow = await press(community, flow, "next")
    assert "step 2 of 2" in flow.content
    assert "America/Chicago" in flow.content
    assert "a guess" not in flow.content  # the admin chose it
    flow = await pick(community, flow, "weekday", "2")
    flow = await pick(community, flow, "time", "07:00")
    await eventually(lambda: "Wednesdays at 07:00" in current(community, flow.id).content)

    # The bot can't embed links in #resources: nothing is saved, and the flow says exactly why.
    emu.set_permission_overwrite(resources, community.bot_role.id, deny=P.EMBED_LINKS)
    flow = await press(community, flow, "save")
    await eventually(lambda: "Not saved yet" in current(community, flow.id).content)
    flow = current(community, flow.id)
    assert "Resource cards from /share" in flow.content
    assert "Embed Links" in flow.content
    assert "Intro cards" not in flow.content  # only the failing channel is named
    server = await server_row(coach, community)
    assert server is None or server.shares_channel_id is None

    emu.set_permission_overwrite(resources, community.bot_role.id, deny=0)
    flow = await press(community, flow, "save")
    await eventually(lambda: "Saved." in current(community, flow.id).content)
    flow = current(community, flow.id)
    assert flow.components == []  # done: no buttons left to press
    server = await server_row(coach, community)
    assert server is not None
    assert (server.shares_channel_id, server.intros_channel_id, server.asks_channel_id) == (
        resources,
        general,
        general,
    )
    assert server.timezone == "America/Chicago"
    async with coach.services.database.read() as session:
        rows = {row.kind: row for row in await session.scalars(select(WeeklySchedule))}
    challenge, recap = rows["challenge"], rows["recap"]
    assert (challenge.weekday, challenge.local_time, challenge.zone) == (
        2,
        "07:00",
        "America/Chicago",
    )
    assert (recap.weekday, recap.follows_challenge) == (1, True)  # the day before, with it

    # Run again, the flow starts from what is saved.
    again = await run_command(community, community.admin.id, "pln setup")
    selects = {c["custom_id"]: c for row in again.components for c in row["components"]}
    [default] = selects["pln-setup:shares_channel"]["default_values"]
    assert (int(default["id"]), default["type"]) == (resources, "channel")


async def test_a_timezone_nobody_knows_is_refused_kindly(
    coach: PLNCoachBot, community: Community
) -> None:
    reply = await run_command(community, community.admin.id, "pln setup", {"timezone": "Mars/Base"})
    assert reply.flags & EPHEMERAL
    assert "Mars/Base" in reply.content
    assert reply.components == []


async def test_thresholds_change_what_progress_calls_practicing(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    admin, ana, ben = community.admin.id, community.ana.id, community.ben.id
    post = await emu.send_message(community.general.id, ana, "Who teaches fractions?")
    await emu.add_reaction(community.general.id, post.id, ben, "🙋")

    async def connect_line() -> str:
        progress = text_of(await run_command(community, ben, "progress"))
        return next(line for line in progress.splitlines() if "1. Connect" in line)

    await eventually(lambda: _contains(connect_line(), "Started"), what="Ben reached Ana")
    listed = await run_command(community, admin, "pln thresholds")
    assert "**Connect**: Started: colleagues reached ≥ 1 · Practicing: colleagues reached ≥ 5" in (
        listed.content
    )

    refused = await run_command(
        community, admin, "pln thresholds", {"habit": "connect", "started": 3, "practicing": 2}
    )
    assert "Not saved: Practicing can't need fewer than Started." in refused.content
    saved = await run_command(
        community, admin, "pln thresholds", {"habit": "connect", "practicing": 1}
    )
    assert "Done: saved." in saved.content
    assert "Practicing" in await connect_line()
    await run_command(community, admin, "pln thresholds", {"habit": "connect", "reset": True})
    assert "Started" in await connect_line()


async def _contains(text: Awaitable[str], part: str) -> bool:
    return part in await text
