"""Posting through the outbox: what Discord refuses, slows down or never saw, as members see it."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from bot.app import PLNCoachBot
from bot.db import OutboxPost, Resource, utcnow
from bot.delivery.renderers import OutgoingPost
from bot.services.outbox import PostClaim
from emulator.rest import RecordedRequest
from tests.e2e.conftest import Community
from tests.e2e.helpers import (
    answer_when,
    as_rendered,
    bot_posts,
    eventually,
    press_button,
    run_command,
)

CARD_POST = ("POST", "/channels/{channel_id}/messages")


async def test_a_link_in_capitals_is_stored_so_discord_accepts_its_card(
    coach: PLNCoachBot, community: Community
) -> None:
    reply = await run_command(
        community, community.ana.id, "share", {"url": "HTTPS://EXAMPLE.ORG/Caps"}
    )
    assert "**Shared!**" in reply.content
    [card] = bot_posts(community, community.general.id)
    assert card.embeds[0]["url"] == "https://example.org/Caps"  # the path keeps its case
    assert str(card.id) in reply.content


async def test_a_long_rate_limit_is_waited_out_and_the_member_is_told_the_truth(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    emu.inject_rate_limit("POST", f"/channels/{community.general.id}/messages", retry_after=45)
    ix = await emu.run_slash_command(
        community.guild.id,
        community.general.id,
        community.ana.id,
        "share",
        {"url": "https://a.org/slow"},
    )
    waiting = await answer_when(ix, lambda text: "on its way" in text)
    assert "**Shared!**" in waiting
    assert "went wrong" not in waiting
    assert bot_posts(community, community.general.id) == []
    async with coach.services.database.read() as session:
        retry_at = await session.scalar(select(OutboxPost.next_attempt_at))
    assert retry_at is not None
    assert retry_at >= utcnow() + timedelta(seconds=40)  # Discord's retry_after, respected

    async with coach.services.database.write() as session:  # 45 seconds later...
        await session.execute(update(OutboxPost).values(next_attempt_at=utcnow()))
    coach.posts.wake()
    await eventually(lambda: bool(bot_posts(community, community.general.id)), what="the card")
    [card] = bot_posts(community, community.general.id)
    done = await answer_when(ix, lambda text: str(card.id) in text)
    assert "Your card:" in done


async def test_a_channel_deleted_before_the_card_is_posted_gets_a_friendly_reason(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    await run_command(
        community, community.admin.id, "pln shares-channel", {"channel": community.resources.id}
    )
    held = emu.hold_requests(*CARD_POST)
    ix = await emu.run_slash_command(
        community.guild.id,
        community.general.id,
        community.ana.id,
        "share",
        {"url": "https://a.org/gone"},
    )
    await answer_when(ix, lambda text: "on its way" in text)
    emu.remove_channel(community.resources.id)  # deleted while the card was on its way
    held.set()
    answer = await answer_when(ix, lambda text: "couldn't post the card" in text)
    assert "that channel no longer exists" in answer
    assert "/pln shares-channel" in answer
    assert "Unknown Channel" not in answer  # Discord's own words never reach a member
    async with coach.services.database.read() as session:
        post = (await session.execute(select(OutboxPost.state, OutboxPost.error_code))).one()
        assert await session.scalar(select(Resource.url)) == "https://a.org/gone"
    assert tuple(post) == ("failed", 10003)


async def test_markdown_in_a_display_name_stays_text_in_other_members_answers(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    sly = emu.create_user("sly", global_name="[Ana](https://evil.example)")
    emu.add_member(community.guild.id, sly.id)
    await run_command(community, sly.id, "share", {"url": "https://a.org/sly"})
    [card] = bot_posts(community, community.general.id)
    thanks = await press_button(community, card, community.ben.id)
    assert "counts toward [Ana](https://evil.example)'s" in as_rendered(thanks.content)
    assert "\\[Ana](" in thanks.content  # escaped: Discord shows it, doesn't link it
    repeat = await run_command(community, community.ben.id, "share", {"url": "https://a.org/sly"})
    assert "**[Ana](https://evil.example)** already shared" in as_rendered(repeat.content)
    assert "\\[Ana](" in repeat.content


async def test_cards_shared_at_once_go_up_in_the_order_they_were_stored_each_once(
    coach: PLNCoachBot, community: Community, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A channel's posts are sent one after another (its lane); their records are stored
    while the next one is sent, and that must not reorder, lose or double a card.

    "Stored" means committed: each command hands its card over once its transaction is in.
    Row ids don't give that order on PostgreSQL, where a row can take its id before another
    transaction's and commit after it, so the test notes the hand-over order as it happens.
    """
    handed_over: list[int] = []
    submit = coach.posts.submit

    def submit_and_note(claim: PostClaim, rendered: OutgoingPost | None = None) -> None:
        handed_over.append(claim.post_id)
        submit(claim, rendered)

    monkeypatch.setattr(coach.posts, "submit", submit_and_note)
    emu = community.emulator
    urls = [f"https://example.org/lesson-{i}" for i in range(8)]
    interactions = await asyncio.gather(
        *(
            emu.run_slash_command(
                community.guild.id,
                community.general.id,
                (community.ana.id, community.ben.id)[i % 2],
                "share",
                {"url": url},
            )
            for i, url in enumerate(urls)
        )
    )
    for ix in interactions:
        await answer_when(ix, lambda text: "**Shared!**" in text)

    async def stored() -> dict[int, tuple[str, int | None]]:
        async with coach.services.database.read() as session:
            rows = await session.execute(
                select(OutboxPost.id, Resource.url, OutboxPost.message_id).join(
                    OutboxPost, OutboxPost.subject_id == Resource.id
                )
            )
            return {post_id: (url, message_id) for post_id, url, message_id in rows}

    async def all_recorded() -> bool:
        return all(message_id is not None for _, message_id in (await stored()).values())

    await eventually(all_recorded, what="every card's message recorded")
    cards = bot_posts(community, community.general.id)
    by_post = await stored()
    assert sorted(by_post) == sorted(handed_over), "each card handed over once"
    stored_cards = [by_post[post_id] for post_id in handed_over]
    assert sorted(url for url, _ in stored_cards) == sorted(urls)
    assert [card.embeds[0]["url"] for card in cards] == [url for url, _ in stored_cards]
    assert [card.id for card in cards] == [message_id for _, message_id in stored_cards]


async def test_the_answer_links_the_card_without_waiting_for_its_record(
    coach: PLNCoachBot, community: Community
) -> None:
    """Once the card is up, the member's answer links it; storing the card's message id is a
    write of its own, and the answer does not wait for it (nor for a writer holding the
    database meanwhile). The record follows once the database is free."""
    database = coach.services.database
    if not database.is_sqlite:
        pytest.skip("holds SQLite's write lock from outside the bot")
    path = make_url(database.url).database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None)
    card_posts: list[str] = []

    def lock_when_the_card_is_up(request: RecordedRequest) -> None:
        if (
            request.method == "POST"
            and request.path == f"/channels/{community.general.id}/messages"
        ):
            card_posts.append(request.path)
            holder.execute("BEGIN IMMEDIATE")  # the card's record now waits for the lock

    community.emulator.request_listeners.append(lock_when_the_card_is_up)
    try:
        ix = await community.emulator.run_slash_command(
            community.guild.id,
            community.general.id,
            community.ana.id,
            "share",
            {"url": "https://example.org/fractions"},
        )
        answer = await answer_when(ix, lambda text: "**Shared!**" in text)
        [card] = bot_posts(community, community.general.id)
        assert str(card.id) in answer  # the answer links the card
        async with database.read() as session:
            recorded = await session.scalar(select(OutboxPost.message_id))
        assert recorded is None, "the answer came while the record still waited"
    finally:
        community.emulator.request_listeners.remove(lock_when_the_card_is_up)
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()

    async def recorded_once() -> bool:
        async with database.read() as session:
            rows = (await session.execute(select(OutboxPost.message_id))).scalars().all()
        return rows == [card.id]

    await eventually(recorded_once, what="the card's message recorded")
    assert card_posts == [f"/channels/{community.general.id}/messages"]
