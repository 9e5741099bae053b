"""What a member was told is what happened, even when the bot is killed -9 in the middle.

The bot runs as `pln-coach run` in its own process (a process in the test's own loop cannot be
killed), against the emulator in this process and the test's database.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.db import Database, OutboxPost, Resource
from emulator.interactions import Interaction
from tests.e2e.bot_subprocess import BotSubprocess
from tests.e2e.conftest import Community
from tests.e2e.helpers import DEFERRED, bot_posts, eventually

MEMBERS = 20
CARD_POST = ("POST", "/channels/{channel_id}/messages")


async def _stored(database_url: str) -> tuple[dict[str, int], list[tuple[Any, ...]]]:
    """Stored resources by link, and every card post's (subject, state, message id)."""
    database = Database(database_url)
    try:
        async with database.read() as session:
            resources = dict((await session.execute(select(Resource.url, Resource.id))).all())
            posts = (
                await session.execute(
                    select(OutboxPost.subject_id, OutboxPost.state, OutboxPost.message_id)
                )
            ).all()
        return resources, [tuple(row) for row in posts]
    finally:
        await database.dispose()


def _cards_by_resource(community: Community) -> dict[int, list[int]]:
    cards: dict[int, list[int]] = {}
    for message in bot_posts(community, community.general.id):
        custom_id = message.components[0]["components"][0]["custom_id"]
        cards.setdefault(int(custom_id.rsplit(":", 1)[1]), []).append(message.id)
    return cards


async def test_kill_9_in_a_throttled_burst_leaves_one_card_per_share_and_every_answer(
    community: Community, database_url: str, tmp_path: Path
) -> None:
    emu = community.emulator
    members = []
    for n in range(MEMBERS):
        user = emu.create_user(f"teacher{n}", global_name=f"Teacher {n}")
        emu.add_member(community.guild.id, user.id, roles=(community.teachers.id,))
        members.append(user)
    # Discord would drop a repeated nonce for a few minutes; turn that off, so what keeps the
    # unrecorded card from appearing twice is the bot looking for it in the channel.
    emu.nonce_window = 0
    bot = BotSubprocess(community, tmp_path, database_url)
    try:
        await _burst_kill_and_restart(community, bot, members, database_url)
    finally:
        bot.kill()  # whatever happened, no bot outlives its test


async def _burst_kill_and_restart(
    community: Community, bot: BotSubprocess, members: list[Any], database_url: str
) -> None:
    emu = community.emulator
    bot_id = community.app.bot_user.id
    await bot.start()

    # The first card stays in flight until every share is stored; the fifth card kills the
    # bot after Discord created it but before the bot heard back, so it was never recorded.
    first_card_held = emu.hold_requests(*CARD_POST)
    created: list[int] = []

    def kill_at_the_fifth_card(event: str, data: Any) -> None:
        if event == "MESSAGE_CREATE" and int(data["author"]["id"]) == bot_id and data["embeds"]:
            created.append(int(data["id"]))
            if len(created) == 5:
                bot.kill()

    emu.add_listener(kill_at_the_fifth_card)
    interactions: list[Interaction] = await asyncio.gather(
        *(
            emu.run_slash_command(
                community.guild.id,
                community.general.id,
                member.id,
                "share",
                {"url": f"https://example.org/lesson-{n}", "title": f"Lesson {n}"},
            )
            for n, member in enumerate(members)
        )
    )
    for ix in interactions:  # every member saw "thinking..." within Discord's 3 s
        assert (await ix.wait_response(timeout=3)).type == DEFERRED

    async def all_stored() -> bool:
        resources, _ = await _stored(database_url)
        return len(resources) == MEMBERS

    await eventually(all_stored, 10, "every share to be stored")
    first_card_held.set()
    await bot.wait_dead()
    emu.remove_listener(kill_at_the_fifth_card)
    assert len(bot_posts(community, community.general.id)) == 5
    unanswered = [ix for ix in interactions if ix.original_message is None]
    assert len(unanswered) >= MEMBERS - 5  # the killed bot left most members waiting

    await bot.start()  # the operator's process manager restarts it on the same database
    resources, _ = await _stored(database_url)

    def every_share_has_one_card() -> bool:
        return set(_cards_by_resource(community)) == set(resources.values())

    await eventually(every_share_has_one_card, 40, "a card for every stored share")
    cards = _cards_by_resource(community)
    assert all(len(ids) == 1 for ids in cards.values()), cards  # none posted twice
    assert created[4] in {ids[0] for ids in cards.values()}  # the unrecorded card was kept

    def links(ix: Interaction) -> str:
        url = ix.data["options"][0]["value"]
        [card] = cards[resources[url]]
        return f"/{community.general.id}/{card}"

    def everyone_answered() -> bool:
        return all(
            ix.original_message is not None and links(ix) in ix.original_message.content
            for ix in interactions
        )

    await eventually(everyone_answered, 20, "every member's answer to link their card")
    for ix in interactions:
        assert ix.original_message is not None
        assert "**Shared!**" in ix.original_message.content
    _, posts = await _stored(database_url)
    assert {state for _, state, _ in posts} == {"posted"}
    assert await bot.stop() == 0
    assert "Traceback" not in bot.log()
