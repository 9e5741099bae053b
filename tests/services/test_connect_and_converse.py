"""Who to reach out to, and which conversations to pick up: the services on a real database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, update

from bot.db import ActivityEvent, ConversationWeek, Database, Member, Tie
from bot.habits import EventKind
from bot.services import candidate_pool, suggestions
from bot.services.converse import ConverseService, FollowUpKind
from bot.services.interests import IntroAnswers, grade_band, split_tags
from bot.services.introductions import IntroductionService, IntroResult
from bot.services.members import Actor
from bot.services.privacy import PrivacyService
from bot.services.suggestions import SuggestionService
from bot.wiring import build_services
from tests.services.clock import Clock, answer_ticket
from tests.services.query_plans import selects_sent

SERVER = 1001
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def actor(user_id: int) -> Actor:
    return Actor(SERVER, "Demo Educators", user_id, f"T{user_id}")


SCIENCE_7 = IntroAnswers("Science teacher", "science", "grade 7", "assessment", "lab safety")


async def introduce(
    database: Database, user_id: int, answers: IntroAnswers, at: datetime = NOW
) -> IntroResult:
    outcome = await IntroductionService(database, clock=Clock(at)).introduce(
        actor(user_id), answers, channel_id=1, answer=answer_ticket(at)
    )
    return outcome.result


async def tie(database: Database, one: int, other: int, at: datetime = NOW) -> None:
    a, b = sorted((one, other))
    async with database.write() as session:
        await session.execute(
            insert(Tie).values(
                server_id=SERVER, member_a=a, member_b=b, first_at=at, last_at=at, a_to_b=1
            )
        )


@pytest.mark.parametrize(
    ("typed", "tags"),
    [
        ("Science, Biology / ELL", ("science", "biology", "ell")),
        ("math and  Physics;physics", ("math", "physics")),
        ("**C#**, [k-12](x)", ("c#", "k-12 x")),
        ("", ()),
    ],
)
def test_answers_split_into_tags(typed: str, tags: tuple[str, ...]) -> None:
    assert split_tags(typed) == tags


@pytest.mark.parametrize(
    ("typed", "band"),
    [
        ("7th grade", "grade 7"),
        ("Grade 7", "grade 7"),
        ("year 07", "grade 7"),
        ("K", "kindergarten"),
        ("6-8", "grades 6-8"),
        ("K-5", "grades k-5"),
        ("university", "university"),
    ],
)
def test_grade_bands_are_written_one_way(typed: str, band: str) -> None:
    assert grade_band(typed) == band


async def test_introducing_again_updates_rather_than_adds(database: Database) -> None:
    assert await introduce(database, 11, SCIENCE_7) is IntroResult.NEW
    assert await introduce(database, 11, SCIENCE_7, NOW + timedelta(hours=1)) is (
        IntroResult.UPDATED
    )
    intro = await IntroductionService(database).intro(SERVER, 11)
    assert intro.answers == SCIENCE_7


async def test_suggestions_prefer_shared_interests_then_a_way_in(
    database: Database,
) -> None:
    await introduce(database, 11, SCIENCE_7)  # the member asking
    await introduce(database, 12, IntroAnswers("Teacher", "science", "grade 7", "", "assessment"))
    await introduce(database, 13, IntroAnswers("Teacher", "science", "grade 7", "", "assessment"))
    await introduce(database, 14, IntroAnswers("Teacher", "art", "grade 2", "", ""))
    # 13 shares two colleagues with Ana (15 and 16): someone can introduce them, and people
    # who share colleagues are the ones who go on to talk (bench.coaching_quality).
    for colleague in (15, 16):
        await introduce(database, colleague, IntroAnswers("Teacher", "music", "", "", ""))
        await tie(database, 11, colleague)
        await tie(database, 13, colleague)

    found = await SuggestionService(database, clock=Clock(NOW)).suggest(SERVER, 11)
    assert [s.user_id for s in found][:2] == [13, 12]
    assert found[0].mutual_ties == 2
    assert "2 colleagues in common" in found[0].reasons
    assert "you have not talked yet" in found[0].reasons
    outside = found[1]
    assert "also works with grade 7 · science" in outside.reasons
    assert "can help with assessment, which you want to learn" in outside.reasons
    assert "outside your usual circle" in outside.reasons
    # Shared interests outweigh the way in: 14 (nothing in common) is not ahead of them.
    assert 11 not in [s.user_id for s in found]
    assert [s.user_id for s in found].index(14) > 1


async def test_suggestions_nudge_toward_someone_you_have_not_talked_to(
    database: Database,
) -> None:
    await introduce(database, 11, SCIENCE_7)
    await introduce(database, 12, SCIENCE_7)
    await introduce(database, 13, SCIENCE_7)
    await tie(database, 11, 12)

    found = await SuggestionService(database, clock=Clock(NOW)).suggest(SERVER, 11)
    assert [s.user_id for s in found] == [13, 12]
    assert "you have not talked yet" in found[0].reasons
    assert "you have talked before: pick it up again" in found[1].reasons


async def test_a_hub_with_hundreds_of_ties_is_not_suggested_an_old_tie_as_new(
    database: Database,
) -> None:
    """Past MAX_OWN_TIES the member's own latest ties are not all of them: an old tie, beyond
    the latest 500, is still known as one (looked up for the candidates themselves)."""
    await introduce(database, 11, SCIENCE_7)
    await introduce(database, 12, SCIENCE_7)
    await introduce(database, 13, SCIENCE_7)
    await tie(database, 11, 12, at=NOW - timedelta(days=60))  # the oldest of the hub's ties
    async with database.write() as session:
        await session.execute(
            insert(Tie),
            [
                {
                    "server_id": SERVER,
                    "member_a": 11,
                    "member_b": 100_000 + n,
                    "first_at": NOW - timedelta(minutes=n + 1),
                    "last_at": NOW - timedelta(minutes=n + 1),
                    "a_to_b": 1,
                }
                for n in range(suggestions.MAX_OWN_TIES + 20)
            ],
        )

    found = await SuggestionService(database, clock=Clock(NOW)).suggest(SERVER, 11)
    assert [s.user_id for s in found] == [13, 12]
    assert "you have not talked yet" in found[0].reasons
    assert "you have talked before: pick it up again" in found[1].reasons


async def test_suggestions_never_name_members_who_left_or_are_quiet_for_90_days(
    database: Database,
) -> None:
    await introduce(database, 11, SCIENCE_7)
    await introduce(database, 12, SCIENCE_7)
    await introduce(database, 13, SCIENCE_7, at=NOW - timedelta(days=91))
    await introduce(database, 14, SCIENCE_7)
    await IntroductionService(database, clock=Clock(NOW)).left(SERVER, 14)

    found = await SuggestionService(database, clock=Clock(NOW)).suggest(SERVER, 11, exclude={99})
    assert [s.user_id for s in found] == [12]
    assert (
        await SuggestionService(database, clock=Clock(NOW)).suggest(SERVER, 11, exclude={12}) == []
    )


async def test_one_service_never_names_a_member_who_left_paused_or_was_forgotten_since(
    database: Database,
) -> None:
    # The server's active members are read once for the suggestions of the next two seconds
    # (candidate_pool); who may be named is not: each is checked when named.
    for user_id in (11, 12, 13, 14):
        await introduce(database, user_id, SCIENCE_7)
    service = SuggestionService(database, clock=Clock(NOW))
    assert {s.user_id for s in await service.suggest(SERVER, 11)} == {12, 13, 14}

    await IntroductionService(database, clock=Clock(NOW)).left(SERVER, 12)
    clock = Clock(NOW)
    await PrivacyService(database, clock).pause(actor(13))
    await PrivacyService(database, clock).forget(SERVER, 14)
    assert await service.suggest(SERVER, 11) == []

    await PrivacyService(database, clock).resume(SERVER, 13)
    assert [s.user_id for s in await service.suggest(SERVER, 11)] == [13]


async def _newcomer_after_a_suggestion(database: Database) -> tuple[Clock, SuggestionService]:
    """Ana (11) is suggested Ben (12), then a colleague sharing her interests (13) introduces
    themselves through another process: the service's list of active members was read before
    they did, and nothing here told it of the intro."""
    await introduce(database, 11, SCIENCE_7)
    await introduce(database, 12, IntroAnswers("Teacher", "art", "grade 2", "", ""))
    clock = Clock(NOW)
    service = SuggestionService(database, clock=clock)
    assert [s.user_id for s in await service.suggest(SERVER, 11)] == [12]
    await introduce(database, 13, SCIENCE_7)
    return clock, service


async def test_a_newcomer_is_suggested_within_seconds(database: Database) -> None:
    clock, service = await _newcomer_after_a_suggestion(database)
    clock.now = NOW + timedelta(seconds=candidate_pool.FRESH_FOR)
    found = await service.suggest(SERVER, 11)
    assert [s.user_id for s in found] == [13, 12]
    assert "also works with grade 7 · science" in found[0].reasons


async def test_a_newcomer_introduced_through_this_process_is_suggested_at_once(
    database: Database,
) -> None:
    # The bot's own services (as wired for it): an intro, a join or an offer of help has the
    # next suggestion read the server's active members again, whenever they were last read.
    services = build_services(database)
    now = datetime.now(UTC)

    async def introduce_here(user_id: int, answers: IntroAnswers) -> None:
        await services.introductions.introduce(
            actor(user_id), answers, channel_id=1, answer=answer_ticket(now)
        )

    await introduce_here(11, SCIENCE_7)
    await introduce_here(12, IntroAnswers("Teacher", "art", "grade 2", "", ""))
    assert [s.user_id for s in await services.suggestions.suggest(SERVER, 11)] == [12]

    await introduce_here(13, SCIENCE_7)
    found = await services.suggestions.suggest(SERVER, 11)
    assert [s.user_id for s in found] == [13, 12]
    assert "also works with grade 7 · science" in found[0].reasons

    await services.introductions.welcome(SERVER, "Demo Educators", 14, "T14")
    found = await services.suggestions.suggest(SERVER, 11)
    assert 14 in {s.user_id for s in found}  # joined just now: active, no intro yet


async def test_under_load_the_active_members_are_read_again_before_anyone_waits_for_it(
    database: Database,
) -> None:
    # Suggestions keep coming: the list, once REFRESH_AFTER old, still answers at once while it
    # is read again in the background, and the next suggestion knows the newcomer. (SQLite reads
    # block the event loop wherever they run: there the list is read when it goes stale.)
    if database.is_sqlite:
        pytest.skip("PostgreSQL only")
    clock, service = await _newcomer_after_a_suggestion(database)
    clock.now = NOW + timedelta(seconds=candidate_pool.REFRESH_AFTER + 0.1)
    assert [s.user_id for s in await service.suggest(SERVER, 11)] == [12]  # as it was read
    await service.close()  # the read in the background ends

    found = await service.suggest(SERVER, 11)
    assert [s.user_id for s in found] == [13, 12]  # still short of FRESH_FOR since the first


async def test_suggestions_asked_for_at_once_share_one_read_of_the_active_members(
    database: Database,
) -> None:
    # A challenge post sends a server to /progress, whose next step names a colleague: the
    # suggestions that arrive while the active members are being read wait for that read
    # (on PostgreSQL, several round trips with the others running meanwhile; SQLite reads
    # inline, without giving the loop back, so there each read ends before the next begins).
    members = (11, 12, 13, 14)
    for user_id in members:
        await introduce(database, user_id, SCIENCE_7)
    service = SuggestionService(database, clock=Clock(NOW))
    with selects_sent(database) as statements:
        found = await asyncio.gather(*(service.suggest(SERVER, user) for user in members * 4))

    for user_id, suggested in zip(members * 4, found, strict=True):
        assert {s.user_id for s in suggested} == set(members) - {user_id}
    recent_reads = [
        s for s, _ in statements if "ORDER BY members.last_seen_at DESC" in " ".join(s.split())
    ]
    assert len(recent_reads) == 1


async def test_in_a_busy_server_a_colleague_sharing_interests_is_found_past_the_most_recent(
    database: Database,
) -> None:
    # More members seen lately than the recent list holds: the one who shares Ana's subject and
    # grade, seen longest ago, is found by the interests she shares, and comes first.
    await introduce(database, 11, SCIENCE_7, at=NOW)
    await introduce(database, 20, SCIENCE_7, at=NOW - timedelta(days=5))
    newer = range(1000, 1000 + candidate_pool.RECENT_CANDIDATES)
    async with database.write() as session:
        await session.execute(
            insert(Member),
            [
                {
                    "server_id": SERVER,
                    "user_id": user_id,
                    "display_name": f"T{user_id}",
                    "last_seen_at": NOW - timedelta(minutes=user_id),
                }
                for user_id in newer
            ],
        )

    found = await SuggestionService(database, clock=Clock(NOW)).suggest(SERVER, 11)
    assert found[0].user_id == 20
    assert "also works with grade 7 · science" in found[0].reasons
    assert [s.user_id for s in found[1:]] == [1000, 1001]  # then the most recently seen


async def test_a_member_who_comes_back_is_suggested_again(database: Database) -> None:
    await introduce(database, 11, SCIENCE_7)
    await introduce(database, 12, SCIENCE_7)
    service = IntroductionService(database, clock=Clock(NOW))
    await service.left(SERVER, 12)
    await service.welcome(SERVER, "Demo Educators", 12, "T12")  # joined again
    found = await SuggestionService(database, clock=Clock(NOW)).suggest(SERVER, 11)
    assert [s.user_id for s in found] == [12]


async def _talk(
    database: Database, who: int, to: int, at: datetime, message_id: int, kind: EventKind
) -> None:
    async with database.write() as session:
        for user_id in (who, to):
            await session.execute(
                update(Member)
                .where(Member.server_id == SERVER, Member.user_id == user_id)
                .values(last_seen_at=at)
            )
        await session.execute(
            insert(ActivityEvent).values(
                server_id=SERVER,
                member_id=who,
                kind=kind.value,
                habit="connect",
                occurred_at=at,
                other_member_id=to,
                channel_id=5,
                message_id=message_id,
                dedupe_key=f"m:{message_id}",
            )
        )


async def test_conversations_worth_continuing(database: Database) -> None:
    for user_id in (11, 12, 13, 14):
        await introduce(database, user_id, SCIENCE_7, at=NOW - timedelta(days=40))
    # 12 replied to Ana two days ago; she has not answered.
    await _talk(database, 12, 11, NOW - timedelta(days=2), 1, EventKind.REPLY)
    # 13 replied yesterday, and Ana answered: nothing waits.
    await _talk(database, 13, 11, NOW - timedelta(days=1), 2, EventKind.THREAD_MESSAGE)
    await _talk(database, 11, 13, NOW - timedelta(hours=20), 3, EventKind.REPLY)
    # 14 and Ana talked three weeks ago (a conversation), quiet since.
    await _talk(database, 14, 11, NOW - timedelta(days=21), 4, EventKind.REPLY)
    await _talk(database, 11, 14, NOW - timedelta(days=20), 5, EventKind.REPLY)
    async with database.write() as session:
        await session.execute(
            insert(ConversationWeek).values(
                server_id=SERVER, member_a=11, member_b=14, week=(NOW - timedelta(days=20)).date()
            )
        )

    items = await ConverseService(database, clock=Clock(NOW)).worth_continuing(SERVER, 11)
    assert [(item.partner_id, item.kind) for item in items] == [
        (12, FollowUpKind.WAITING),
        (14, FollowUpKind.GONE_QUIET),
    ]
    assert (items[0].channel_id, items[0].message_id) == (5, 1)
    assert items[1].conversation_weeks == 1

    await IntroductionService(database, clock=Clock(NOW)).left(SERVER, 12)
    items = await ConverseService(database, clock=Clock(NOW)).worth_continuing(SERVER, 11)
    assert [item.partner_id for item in items] == [14]  # never someone who left
