"""Sharing stores each link once per server and records who contributed and who found it useful."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.db import ActivityEvent, Database, OutboxPost, PendingAnswer, Resource, Server
from bot.errors import NotFound
from bot.services.members import Actor
from bot.services.outbox import Outbox, Refusal
from bot.services.pausing import PAUSED_YOU, TrackingPaused
from bot.services.privacy import PrivacyService
from bot.services.server_settings import ServerSettingsService
from bot.services.share_input import parse_share
from bot.services.sharing import ShareResult, SharingService, UsefulMark
from tests.services.clock import answer_ticket
from tests.services.query_plans import statements_sent

ANA = Actor(server_id=1001, server_name="Demo Educators", user_id=11, display_name="Ana")
BEN = Actor(server_id=1001, server_name="Demo Educators", user_id=12, display_name="Ben")
ANA_ELSEWHERE = Actor(server_id=2002, server_name="Other", user_id=11, display_name="Ana")
GENERAL = 5001
TICKET = answer_ticket(datetime.now(UTC), GENERAL)


async def _count(database: Database, model: type) -> int:
    async with database.read() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_a_new_share_is_stored_with_tags_and_one_event(database: Database) -> None:
    service = SharingService(database)
    outcome = await service.share(
        ANA,
        GENERAL,
        parse_share("https://example.org/f", "Fractions", "10 min", "math, k-5"),
        answer=TICKET,
    )
    assert outcome.is_new
    assert outcome.resource.title == "Fractions"
    assert outcome.resource.tags == ("math", "k-5")
    assert outcome.resource.shared_by_name == "Ana"
    assert await _count(database, ActivityEvent) == 1


async def test_every_new_share_stores_the_same_rows_whichever_way_it_is_written(
    database: Database,
) -> None:
    # The server's first share makes its row the ordinary way; on PostgreSQL the next new link
    # is written in one statement (services.at_once), which checks the server's row is as the
    # first share left it: both must leave the same rows behind.
    service = SharingService(database)
    outcomes = []
    for url, tags in (("https://example.org/first", "math, k-5"), ("https://example.org/2", "art")):
        with statements_sent(database) as statements:
            outcomes.append(
                await service.share(
                    ANA,
                    GENERAL,
                    parse_share(url, "Title", "note", tags),
                    answer=TICKET,
                    deliverer="worker-1",
                )
            )
    if not database.is_sqlite:  # everything, the server's settings checked, in one statement
        assert len(statements) == 1, statements
    for outcome, stored_tags in zip(outcomes, (("math", "k-5"), ("art",)), strict=True):
        assert outcome.is_new
        assert outcome.card_claim is not None
        assert outcome.card_claim.post_id == outcome.answer.post_id
        assert outcome.card_claim.subject_id == outcome.resource.id
        stored = await service.resource(ANA.server_id, outcome.resource.id)
        assert stored.tags == stored_tags
        assert stored.card is not None
        assert stored.card.post_id == outcome.answer.post_id
        async with database.read() as session:
            shared = await session.scalar(
                select(ActivityEvent).where(ActivityEvent.resource_id == outcome.resource.id)
            )
            post = await session.get(OutboxPost, outcome.answer.post_id)
            owed = await session.get(PendingAnswer, outcome.answer.id)
        assert shared is not None
        assert (shared.kind, shared.habit, shared.member_id, shared.channel_id) == (
            "share",
            "contribute",
            ANA.user_id,
            GENERAL,
        )
        assert shared.dedupe_key == f"share:{outcome.resource.id}"
        assert post is not None
        assert post.claimed_by == "worker-1"
        assert post.attempts == 1
        assert owed is not None
        assert (owed.subject_id, owed.post_id, owed.outcome) == (
            outcome.resource.id,
            outcome.answer.post_id,
            "new",
        )


async def test_the_same_link_again_points_to_the_first_share(database: Database) -> None:
    service = SharingService(database)
    first = await service.share(
        ANA, GENERAL, parse_share("https://example.org/f?utm_source=x"), answer=TICKET
    )
    again = await service.share(
        BEN, 5002, parse_share("https://EXAMPLE.org/f/", "Other title"), answer=TICKET
    )
    assert not again.is_new
    assert again.resource.id == first.resource.id
    assert again.resource.shared_by_name == "Ana"
    assert again.resource.card is not None
    assert again.resource.card.post_id == first.answer.post_id  # the same card, not a second
    assert await _count(database, Resource) == 1


async def test_the_same_link_in_another_server_is_a_new_share(database: Database) -> None:
    service = SharingService(database)
    await service.share(ANA, GENERAL, parse_share("https://example.org/f"), answer=TICKET)
    other = await service.share(
        ANA_ELSEWHERE, 7001, parse_share("https://example.org/f"), answer=TICKET
    )
    assert other.is_new


async def test_simultaneous_shares_of_one_link_store_it_once(database: Database) -> None:
    service = SharingService(database)
    members = [Actor(1001, "Demo Educators", 100 + i, f"Member {i}") for i in range(8)]
    outcomes = await asyncio.gather(
        *(
            service.share(m, GENERAL, parse_share("https://example.org/same"), answer=TICKET)
            for m in members
        )
    )
    assert sum(outcome.is_new for outcome in outcomes) == 1
    assert await _count(database, Resource) == 1


async def test_many_concurrent_writers_never_hit_database_is_locked(database: Database) -> None:
    service = SharingService(database)
    members = [Actor(1001, "Demo Educators", 200 + i, f"M{i}") for i in range(10)]
    await asyncio.gather(
        *(
            service.share(
                m, GENERAL, parse_share(f"https://example.org/{m.user_id}/{n}"), answer=TICKET
            )
            for m in members
            for n in range(5)
        )
    )
    assert await _count(database, Resource) == 50


async def test_cards_go_to_the_configured_shares_channel(database: Database) -> None:
    await ServerSettingsService(database).set_shares_channel(ANA, 7777, answer=TICKET)
    outcome = await SharingService(database).share(
        ANA, GENERAL, parse_share("https://a.org"), answer=TICKET, deliverer="main"
    )
    assert outcome.card_claim is not None
    assert outcome.card_claim.channel_id == 7777


async def test_a_shares_channel_chosen_since_the_last_share_is_where_the_next_card_goes(
    database: Database,
) -> None:
    # On PostgreSQL the service writes a share expecting the settings it saw last time; an
    # admin's choice made since (here by another service, as another process would) must win.
    service = SharingService(database)
    await service.share(ANA, GENERAL, parse_share("https://a.org/1"), answer=TICKET)
    await ServerSettingsService(database).set_shares_channel(ANA, 7777, answer=TICKET)
    for member, url in ((BEN, "https://a.org/2"), (ANA, "https://a.org/3")):
        outcome = await service.share(
            member, GENERAL, parse_share(url), answer=TICKET, deliverer="main"
        )
        assert outcome.is_new
        assert outcome.card_claim is not None
        assert outcome.card_claim.channel_id == 7777


async def test_a_member_who_paused_since_their_last_share_is_refused_and_nothing_is_kept(
    database: Database,
) -> None:
    service = SharingService(database)
    await service.share(ANA, GENERAL, parse_share("https://a.org/1"), answer=TICKET)
    resources, answers = await _count(database, Resource), await _count(database, PendingAnswer)
    await PrivacyService(database).pause(ANA)
    with pytest.raises(TrackingPaused) as refused:
        await service.share(ANA, GENERAL, parse_share("https://a.org/2"), answer=TICKET)
    assert refused.value.message == PAUSED_YOU
    assert (await _count(database, Resource), await _count(database, PendingAnswer)) == (
        resources,
        answers,
    )


async def test_a_share_after_the_server_was_renamed_is_kept_under_its_new_name(
    database: Database,
) -> None:
    service = SharingService(database)
    await service.share(ANA, GENERAL, parse_share("https://a.org/1"), answer=TICKET)
    renamed = Actor(ANA.server_id, "Renamed Educators", ANA.user_id, ANA.display_name)
    outcome = await service.share(renamed, GENERAL, parse_share("https://a.org/2"), answer=TICKET)
    assert outcome.is_new
    async with database.read() as session:
        server = await session.get(Server, ANA.server_id)
    assert server is not None
    assert server.name == "Renamed Educators"


async def test_useful_marks_count_once_and_never_for_your_own_share(database: Database) -> None:
    service = SharingService(database)
    shared = await service.share(ANA, GENERAL, parse_share("https://example.org/f"), answer=TICKET)
    rid = shared.resource.id
    answers_before = await _count(database, PendingAnswer)
    with statements_sent(database) as statements:
        mark, resource, owed = await service.mark_useful(BEN, rid, answer=TICKET)
    if not database.is_sqlite:  # the resource with its server, then the rest in one statement
        assert len(statements) == 2, statements
    assert mark is UsefulMark.RECORDED
    assert resource.shared_by == ANA.user_id
    assert owed.id is not None  # a recorded mark owes its answer...
    async with database.read() as session:
        stored = await session.get(PendingAnswer, owed.id)
        marked = await session.scalar(
            select(ActivityEvent).where(ActivityEvent.dedupe_key == f"useful:{rid}:{BEN.user_id}")
        )
    assert stored is not None
    assert (stored.kind, stored.subject_id, stored.outcome) == ("useful", rid, "recorded")
    assert marked is not None
    assert (marked.kind, marked.other_member_id, marked.resource_id) == (
        "marked_useful",
        ANA.user_id,
        rid,
    )
    again = await service.mark_useful(BEN, rid, answer=TICKET)
    assert again[0] is UsefulMark.ALREADY_MARKED
    assert again[2].id is None  # ...a repeat or your own share changes nothing, owes nothing
    own = await service.mark_useful(ANA, rid, answer=TICKET)
    assert own[0] is UsefulMark.OWN_RESOURCE
    assert own[2].id is None
    assert await _count(database, ActivityEvent) == 2  # the share and one mark
    assert await _count(database, PendingAnswer) == answers_before + 1


async def test_marking_a_resource_of_another_server_is_not_found(database: Database) -> None:
    service = SharingService(database)
    shared = await service.share(ANA, GENERAL, parse_share("https://example.org/f"), answer=TICKET)
    with pytest.raises(NotFound):
        await service.mark_useful(ANA_ELSEWHERE, shared.resource.id, answer=TICKET)


async def test_a_share_owes_its_card_and_the_members_answer_in_one_go(
    database: Database,
) -> None:
    outcome = await SharingService(database).share(
        ANA, GENERAL, parse_share("https://example.org/f"), answer=TICKET, deliverer="main"
    )
    claim = outcome.card_claim
    assert claim is not None  # the command's own worker posts the card next
    assert (claim.kind, claim.subject_id, claim.channel_id) == (
        "resource_card",
        outcome.resource.id,
        GENERAL,
    )
    assert not claim.may_be_posted  # nothing was attempted before: no lookup needed
    assert outcome.answer.id is not None
    assert outcome.answer.post_id == claim.post_id
    assert await _count(database, OutboxPost) == 1
    assert await _count(database, PendingAnswer) == 1


async def test_a_share_that_fails_midway_leaves_no_trace(database: Database) -> None:
    """One transaction: if owing the card fails, the share and its ledger event are not kept."""

    def broken_channel_choice(_configured: int | None) -> int:
        raise RuntimeError("the cache went away")

    service = SharingService(database)
    with pytest.raises(RuntimeError):
        await service.share(
            ANA,
            GENERAL,
            parse_share("https://example.org/f", tags="math"),
            answer=TICKET,
            card_channel=broken_channel_choice,
        )
    for model in (Resource, ActivityEvent, OutboxPost, PendingAnswer):
        assert await _count(database, model) == 0
    again = await service.share(ANA, GENERAL, parse_share("https://example.org/f"), answer=TICKET)
    assert again.is_new  # the member's retry works normally


async def test_a_failed_card_is_tried_again_when_the_link_is_shared_again(
    database: Database,
) -> None:
    service = SharingService(database)
    outbox = Outbox(database)
    first = await service.share(
        ANA, GENERAL, parse_share("https://example.org/c"), answer=TICKET, deliverer="main"
    )
    assert first.card_claim is not None
    again = await service.share(BEN, GENERAL, parse_share("https://example.org/c"), answer=TICKET)
    assert again.card_claim is None  # on its way already
    assert again.result is ShareResult.REPEAT
    await outbox.record_refusal(first.card_claim, Refusal("I'm missing Send Messages", True, 50013))

    retry = await service.share(
        BEN, 5002, parse_share("https://example.org/c"), answer=TICKET, deliverer="main"
    )
    assert retry.result is ShareResult.REPEAT_CARD_RETRIED
    assert retry.card_claim is not None
    assert retry.card_claim.channel_id == 5002  # where it is shared now
    assert retry.card_claim.may_be_posted  # an attempt was made before: look first
    await outbox.record_posted(retry.card_claim, 4242)
    done = await service.share(BEN, GENERAL, parse_share("https://example.org/c"), answer=TICKET)
    assert done.card_claim is None
    assert done.resource.card is not None
    assert done.resource.card.message_id == 4242
