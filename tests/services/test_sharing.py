"""Sharing stores each link once per server and records who contributed and who found it useful."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.db import ActivityEvent, Database, Resource
from bot.errors import NotFound
from bot.services.members import Actor
from bot.services.server_settings import ServerSettingsService
from bot.services.share_input import parse_share
from bot.services.sharing import CARD_CLAIM_LEASE, CardLocation, SharingService, UsefulMark
from tests.services.clock import Clock

ANA = Actor(server_id=1001, server_name="Demo Educators", user_id=11, display_name="Ana")
BEN = Actor(server_id=1001, server_name="Demo Educators", user_id=12, display_name="Ben")
ANA_ELSEWHERE = Actor(server_id=2002, server_name="Other", user_id=11, display_name="Ana")
GENERAL = 5001


async def _count(database: Database, model: type) -> int:
    async with database.read() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_a_new_share_is_stored_with_tags_and_one_event(database: Database) -> None:
    service = SharingService(database)
    outcome = await service.share(
        ANA, GENERAL, parse_share("https://example.org/f", "Fractions", "10 min", "math, k-5")
    )
    assert outcome.is_new
    assert outcome.card_channel_id == GENERAL
    assert outcome.resource.title == "Fractions"
    assert outcome.resource.tags == ("math", "k-5")
    assert outcome.resource.shared_by_name == "Ana"
    assert await _count(database, ActivityEvent) == 1


async def test_the_same_link_again_points_to_the_first_share(database: Database) -> None:
    service = SharingService(database)
    first = await service.share(ANA, GENERAL, parse_share("https://example.org/f?utm_source=x"))
    assert first.card_claim is not None
    await service.attach_card(first.card_claim, CardLocation(GENERAL, 9999))
    again = await service.share(BEN, 5002, parse_share("https://EXAMPLE.org/f/", "Other title"))
    assert not again.is_new
    assert again.resource.id == first.resource.id
    assert again.resource.shared_by_name == "Ana"
    assert again.resource.card_message_id == 9999
    assert await _count(database, Resource) == 1


async def test_the_same_link_in_another_server_is_a_new_share(database: Database) -> None:
    service = SharingService(database)
    await service.share(ANA, GENERAL, parse_share("https://example.org/f"))
    other = await service.share(ANA_ELSEWHERE, 7001, parse_share("https://example.org/f"))
    assert other.is_new


async def test_simultaneous_shares_of_one_link_store_it_once(database: Database) -> None:
    service = SharingService(database)
    members = [Actor(1001, "Demo Educators", 100 + i, f"Member {i}") for i in range(8)]
    outcomes = await asyncio.gather(
        *(service.share(m, GENERAL, parse_share("https://example.org/same")) for m in members)
    )
    assert sum(outcome.is_new for outcome in outcomes) == 1
    assert await _count(database, Resource) == 1


async def test_many_concurrent_writers_never_hit_database_is_locked(database: Database) -> None:
    service = SharingService(database)
    members = [Actor(1001, "Demo Educators", 200 + i, f"M{i}") for i in range(10)]
    await asyncio.gather(
        *(
            service.share(m, GENERAL, parse_share(f"https://example.org/{m.user_id}/{n}"))
            for m in members
            for n in range(5)
        )
    )
    assert await _count(database, Resource) == 50


async def test_cards_go_to_the_configured_shares_channel(database: Database) -> None:
    await ServerSettingsService(database).set_shares_channel(1001, "Demo Educators", 7777)
    outcome = await SharingService(database).share(ANA, GENERAL, parse_share("https://a.org"))
    assert outcome.card_channel_id == 7777


async def test_useful_marks_count_once_and_never_for_your_own_share(database: Database) -> None:
    service = SharingService(database)
    shared = await service.share(ANA, GENERAL, parse_share("https://example.org/f"))
    rid = shared.resource.id
    assert (await service.mark_useful(BEN, rid))[0] is UsefulMark.RECORDED
    assert (await service.mark_useful(BEN, rid))[0] is UsefulMark.ALREADY_MARKED
    assert (await service.mark_useful(ANA, rid))[0] is UsefulMark.OWN_RESOURCE
    assert await _count(database, ActivityEvent) == 2  # the share and one mark


async def test_marking_a_resource_of_another_server_is_not_found(database: Database) -> None:
    service = SharingService(database)
    shared = await service.share(ANA, GENERAL, parse_share("https://example.org/f"))
    with pytest.raises(NotFound):
        await service.mark_useful(ANA_ELSEWHERE, shared.resource.id)


async def test_only_one_command_at_a_time_may_post_a_missing_card(database: Database) -> None:
    clock = Clock(datetime(2026, 11, 29, 12, tzinfo=UTC))
    service = SharingService(database, clock=clock)
    first = await service.share(ANA, GENERAL, parse_share("https://example.org/c"))
    assert first.card_claim is not None  # a new share claims its card
    again = await service.share(BEN, GENERAL, parse_share("https://example.org/c"))
    assert again.card_claim is None
    await service.release_card(first.card_claim)  # posting failed
    retry = await service.share(BEN, GENERAL, parse_share("https://example.org/c"))
    assert retry.card_claim is not None

    clock.now += CARD_CLAIM_LEASE + timedelta(seconds=1)  # the claimant died mid-post
    taken_over = await service.share(ANA, GENERAL, parse_share("https://example.org/c"))
    assert taken_over.card_claim is not None
    await service.release_card(retry.card_claim)  # a stale claim cannot free the new one
    assert (
        await service.share(BEN, GENERAL, parse_share("https://example.org/c"))
    ).card_claim is None

    mine = CardLocation(GENERAL, 4242)
    assert await service.attach_card(taken_over.card_claim, mine) == mine
    # The slow first claimant posted too: it learns whose card counts, to delete its own.
    assert await service.attach_card(retry.card_claim, CardLocation(GENERAL, 99)) == mine
    done = await service.share(BEN, GENERAL, parse_share("https://example.org/c"))
    assert done.card_claim is None
    assert done.resource.card_message_id == 4242
