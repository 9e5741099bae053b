"""Request on a real database: routing an ask to helpers, answers, helpful marks, open asks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.db import ActivityEvent, Database, OutboxPost, PendingAnswer
from bot.errors import InvalidInput
from bot.services.asks import (
    AskOutcome,
    AskService,
    HelpfulResult,
    parse_ask,
    record_answers,
    thread_name,
)
from bot.services.interests import IntroAnswers
from bot.services.introductions import IntroductionService
from bot.services.members import Actor
from bot.services.outbox import Outbox
from bot.services.routing import HelperPick
from bot.services.server_settings import ChannelSetting, ServerSettingsService
from bot.services.share_input import parse_share
from bot.services.sharing import SharingService
from tests.services.clock import Clock, answer_ticket
from tests.services.query_plans import statements_sent

SERVER = 1001
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
TICKET = answer_ticket(NOW)


def actor(user_id: int) -> Actor:
    return Actor(SERVER, "Demo Educators", user_id, f"T{user_id}")


async def introduce(database: Database, user_id: int, answers: IntroAnswers) -> None:
    await IntroductionService(database, clock=Clock(NOW)).introduce(
        actor(user_id), answers, channel_id=1, answer=answer_ticket(NOW)
    )


async def ask(
    database: Database, user_id: int, question: str, tags: str | None, at: datetime = NOW
) -> AskOutcome:
    return await AskService(database, clock=Clock(at)).ask(
        actor(user_id), parse_ask(question, tags), channel_id=7, answer=answer_ticket(at)
    )


async def post_threads(database: Database, threads: dict[int | None, int]) -> None:
    """The threads went up: each outbox post records its thread's id (its first message's)."""
    outbox = Outbox(database, clock=Clock(NOW))
    for claim in await outbox.claim_due("main/run1"):
        if claim.post_id in threads:
            await outbox.record_posted(claim, threads[claim.post_id])


async def test_an_ask_stores_its_tags_helpers_event_thread_and_answer(
    database: Database,
) -> None:
    # On PostgreSQL an ask in a known server is written in one statement (services.at_once),
    # on SQLite statement by statement: the same rows must come out either way.
    await introduce(database, 21, IntroAnswers("Teacher", "math", "", "", "math"))
    await introduce(database, 22, IntroAnswers("Coach", "science", "", "", ""))
    picks = [
        HelperPick(21, "T21", ("offered to help with math",), opted_in=True),
        HelperPick(22, "T22", ("answered 2 asks lately", "a new tie"), opted_in=False),
    ]
    service = AskService(database, clock=Clock(NOW))
    with statements_sent(database) as statements:
        outcome = await service.ask(
            actor(23),
            parse_ask("How do you grade labs?", "math, k-5"),
            channel_id=7,
            answer=answer_ticket(NOW),
            deliverer="worker-1",
            helpers=picks,
        )
    if not database.is_sqlite:  # the settings read, then everything else in one statement
        assert len(statements) == 2, statements
    with statements_sent(database) as statements:
        await service.ask(
            actor(23), parse_ask("And quizzes?", None), channel_id=7, answer=TICKET, helpers=[]
        )
    if not database.is_sqlite:  # the settings as last read, checked in the one statement
        assert len(statements) == 1, statements
    stored = await service.load(SERVER, outcome.ask.id)
    assert stored.tags == ("math", "k-5")
    assert [(h.member_id, h.reasons, h.opted_in) for h in stored.helpers] == [
        (21, ("offered to help with math",), True),
        (22, ("answered 2 asks lately", "a new tie"), False),
    ]
    assert stored.thread is not None
    assert stored.thread.post_id == outcome.answer.post_id
    assert outcome.thread_claim is not None
    assert outcome.thread_claim.post_id == outcome.answer.post_id
    assert outcome.thread_claim.subject_id == outcome.ask.id
    async with database.read() as session:
        asked = await session.scalar(
            select(ActivityEvent).where(ActivityEvent.dedupe_key == f"ask:{outcome.ask.id}")
        )
        owed = await session.get(PendingAnswer, outcome.answer.id)
    assert asked is not None
    assert (asked.kind, asked.habit, asked.member_id, asked.channel_id) == ("ask", "request", 23, 7)
    assert owed is not None
    assert (owed.subject_id, owed.post_id, owed.outcome) == (
        outcome.ask.id,
        outcome.answer.post_id,
        "asked",
    )


def test_questions_and_thread_names() -> None:
    with pytest.raises(InvalidInput):
        parse_ask("   ", None)
    assert parse_ask(" How do I grade labs? ", "Science, #7th grade").tags == (
        "science",
        "7th-grade",
    )
    assert thread_name("Line one\nline two") == "Line one"
    assert len(thread_name("x" * 500)) == 100


async def test_an_asks_channel_chosen_since_the_last_ask_is_where_the_next_thread_goes(
    database: Database,
) -> None:
    # On PostgreSQL the service writes an ask expecting the settings it saw last time; an
    # admin's choice made since (by another service, as another process would) must win.
    service = AskService(database, clock=Clock(NOW))
    first = await service.ask(actor(23), parse_ask("Labs?", None), channel_id=7, answer=TICKET)
    assert first.ask.channel_id == 7
    await ServerSettingsService(database).set_channel(
        actor(1), ChannelSetting.ASKS, 8888, answer=TICKET
    )
    later = await service.ask(actor(23), parse_ask("Quizzes?", None), channel_id=7, answer=TICKET)
    assert later.ask.channel_id == 8888
    async with database.read() as session:
        post = await session.get(OutboxPost, later.answer.post_id)
    assert post is not None
    assert post.channel_id == 8888


async def test_helpers_who_offered_help_come_first_and_only_they_are_pinged(
    database: Database,
) -> None:
    await introduce(database, 11, IntroAnswers("Teacher", "science", "", "assessment", ""))
    await introduce(database, 12, IntroAnswers("Coach", "math", "", "", "assessment"))
    await introduce(database, 13, IntroAnswers("Teacher", "assessment", "", "", ""))
    await introduce(database, 14, IntroAnswers("Teacher", "art", "", "", ""))
    outcome = await ask(database, 11, "How do you grade labs fairly?", "assessment")
    helpers = outcome.ask.helpers
    assert [h.member_id for h in helpers] == [12, 13]
    assert helpers[0].opted_in
    assert not helpers[1].opted_in
    assert "offered to help with assessment" in helpers[0].reasons
    assert "works with assessment" in helpers[1].reasons
    assert 11 not in [h.member_id for h in helpers]  # never the asker

    stored = await AskService(database).load(SERVER, outcome.ask.id)
    assert [h.reasons for h in stored.helpers] == [h.reasons for h in helpers]


async def test_people_who_answered_lately_are_named_when_no_tag_matches(
    database: Database,
) -> None:
    for user_id in (11, 12, 13):
        await introduce(database, user_id, IntroAnswers("Teacher", "music", "", "", ""))
    first = await ask(database, 11, "First question?", None, NOW - timedelta(days=3))
    await post_threads(database, {first.answer.post_id: 500})
    async with database.write() as session:
        await record_answers(
            session, SERVER, [(first.ask.id, 11, 501, 13, NOW - timedelta(days=2))]
        )
    second = await ask(database, 12, "Another question?", None)
    assert [h.member_id for h in second.ask.helpers] == [13]
    assert "1 question answered lately" in second.ask.helpers[0].reasons


async def test_people_who_answered_asks_on_the_tags_are_named(database: Database) -> None:
    for user_id in (11, 12, 13, 14):
        await introduce(database, user_id, IntroAnswers("Teacher", "music", "", "", ""))
    long_ago = NOW - timedelta(days=70)  # not "lately": only the tags can name them
    on_tag = await ask(database, 11, "Rubrics for labs?", "assessment", long_ago)
    other = await ask(database, 11, "Seating plans?", "classroom", long_ago)
    await post_threads(database, {on_tag.answer.post_id: 600, other.answer.post_id: 700})
    async with database.write() as session:
        await record_answers(
            session,
            SERVER,
            [(on_tag.ask.id, 11, 601, 13, long_ago), (other.ask.id, 11, 701, 14, long_ago)],
        )
    asked = await ask(database, 12, "Grading without weekends?", "assessment")
    assert [h.member_id for h in asked.ask.helpers] == [13]
    assert "1 ask answered on these tags" in asked.ask.helpers[0].reasons


async def test_every_signal_names_its_helper_with_its_own_reason(database: Database) -> None:
    """Routing reads offers, resources shared and asks answered on the tags, and answers
    given lately, in one statement: each helper is named for what they did, nothing else."""
    for user_id in (11, 12, 13, 14, 15):
        await introduce(database, user_id, IntroAnswers("Teacher", "music", "", "", ""))
    await introduce(database, 12, IntroAnswers("Coach", "music", "", "", "assessment"))
    await SharingService(database, clock=Clock(NOW)).share(
        actor(13),
        5,
        parse_share("https://rubrics.example/labs", tags="assessment"),
        answer=answer_ticket(NOW),
    )
    long_ago = NOW - timedelta(days=70)  # on the tag, but not "lately"
    on_tag = await ask(database, 11, "Rubrics for labs?", "assessment", long_ago)
    untagged = await ask(database, 11, "Seating plans?", None, NOW - timedelta(days=3))
    await post_threads(database, {on_tag.answer.post_id: 600, untagged.answer.post_id: 700})
    async with database.write() as session:
        await record_answers(
            session,
            SERVER,
            [
                (on_tag.ask.id, 11, 601, 14, long_ago),
                (untagged.ask.id, 11, 701, 15, NOW - timedelta(days=2)),
            ],
        )
    helpers = await AskService(database, clock=Clock(NOW)).route(
        actor(11), parse_ask("Grading without weekends?", "assessment")
    )
    reasons = {h.member_id: h.reasons for h in helpers}
    assert reasons == {
        12: ("offered to help with assessment",),
        14: ("1 ask answered on these tags",),
        13: ("1 resource shared on these tags",),
    }
    assert [h.member_id for h in helpers] == [12, 14, 13]  # offered help counts most
    lately = await AskService(database, clock=Clock(NOW)).route(
        actor(11), parse_ask("Anything on music?", "music-theory")
    )
    assert [(h.member_id, h.reasons) for h in lately] == [(15, ("1 question answered lately",))]


async def test_a_resource_on_several_of_the_asks_tags_counts_once(database: Database) -> None:
    """One rubric tagged "science" and "assessment" is one resource shared on an ask with both
    tags, not two."""
    for user_id in (11, 13):
        await introduce(database, user_id, IntroAnswers("Teacher", "music", "", "", ""))
    await SharingService(database, clock=Clock(NOW)).share(
        actor(13),
        5,
        parse_share("https://rubrics.example/labs", tags="science, assessment"),
        answer=answer_ticket(NOW),
    )
    helpers = await AskService(database, clock=Clock(NOW)).route(
        actor(11), parse_ask("How do you grade lab reports?", "assessment, science")
    )
    assert [(h.member_id, h.reasons) for h in helpers] == [
        (13, ("1 resource shared on these tags",))
    ]


async def test_an_ask_names_the_helpers_routed_before_it_was_stored(database: Database) -> None:
    """/ask reads whom to name while Discord hears its acknowledgement, then stores the ask."""
    await introduce(database, 12, IntroAnswers("Coach", "math", "", "", "assessment"))
    service = AskService(database, clock=Clock(NOW))
    request = parse_ask("How do you grade labs fairly?", "assessment")
    helpers = await service.route(actor(11), request)
    await introduce(database, 13, IntroAnswers("Coach", "art", "", "", "assessment"))
    outcome = await service.ask(
        actor(11), request, channel_id=7, answer=answer_ticket(NOW), helpers=helpers
    )
    assert [h.member_id for h in outcome.ask.helpers] == [12]
    stored = await service.load(SERVER, outcome.ask.id)
    assert [h.member_id for h in stored.helpers] == [12]


async def test_helpers_further_down_are_named_when_the_best_scored_left(
    database: Database,
) -> None:
    """Who may be named is read for the best-scored first; if none of them may be, the next."""
    offered = list(range(20, 36))  # more than one batch of checks (MAX_HELPERS x 4)
    for user_id in offered:
        await introduce(database, user_id, IntroAnswers("Coach", "art", "", "", "assessment"))
    for user_id in (40, 41, 42):
        await introduce(database, user_id, IntroAnswers("Teacher", "assessment", "", "", ""))
    introductions = IntroductionService(database, clock=Clock(NOW))
    for user_id in offered:
        await introductions.left(SERVER, user_id)
    outcome = await ask(database, 11, "Rubrics for labs?", "assessment")
    assert sorted(h.member_id for h in outcome.ask.helpers) == [40, 41, 42]


async def test_among_equally_good_helpers_the_one_seen_last_comes_first(
    database: Database,
) -> None:
    """Even when more are tied than the first batch of checks holds."""
    for user_id in range(20, 40):
        await IntroductionService(
            database, clock=Clock(NOW - timedelta(minutes=40 - user_id))
        ).introduce(
            actor(user_id),
            IntroAnswers("Coach", "art", "", "", "assessment"),
            channel_id=1,
            answer=answer_ticket(NOW),
        )
    outcome = await ask(database, 11, "Rubrics for labs?", "assessment")
    assert [h.member_id for h in outcome.ask.helpers] == [39, 38, 37]


async def test_answers_open_asks_and_helpful_marks(database: Database) -> None:
    for user_id in (11, 12, 13):
        await introduce(database, user_id, IntroAnswers("Teacher", "music", "", "", ""))
    service = AskService(database, clock=Clock(NOW))
    old = await ask(database, 11, "Old question?", None, NOW - timedelta(days=3))
    new = await ask(database, 12, "New question?", None)
    await post_threads(database, {old.answer.post_id: 900, new.answer.post_id: 901})
    assert [a.id for a in await service.open_asks(SERVER)] == [old.ask.id, new.ask.id]

    async with database.write() as session:
        # The asker's own message in the thread is not an answer.
        await record_answers(session, SERVER, [(old.ask.id, 11, 902, 11, NOW)])
    assert len(await service.open_asks(SERVER)) == 2

    async def mark(by: int, message_id: int, author: int, thread_id: int = 900) -> HelpfulResult:
        outcome = await service.mark_helpful(
            actor(by),
            thread_id=thread_id,
            message_id=message_id,
            author_id=author,
            author_name=f"T{author}",
            posted_at=NOW,
            answer=answer_ticket(NOW),
        )
        return outcome.result

    assert await mark(12, 903, 13) is HelpfulResult.NOT_THE_ASKER
    assert await mark(11, 902, 11) is HelpfulResult.OWN_MESSAGE
    assert await mark(11, 903, 13) is HelpfulResult.MARKED  # recorded now if tracking lags
    assert await mark(11, 903, 13) is HelpfulResult.ALREADY_MARKED
    assert await mark(11, 903, 13, thread_id=12345) is HelpfulResult.NOT_AN_ASK
    assert [a.id for a in await service.open_asks(SERVER)] == [new.ask.id]
    _, helper = await service.helpful_answer(SERVER, 903)
    assert helper == 13
