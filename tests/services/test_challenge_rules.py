"""Completion rules on crafted ledgers: who did it, who fell one short, and what happened
outside the week (or in another server) never counts."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.challenges.rules import CompletionRule, RuleKind, members_who_completed
from bot.db import (
    ActivityEvent,
    Ask,
    AskAnswer,
    Base,
    ConversationWeek,
    Database,
    Introduction,
    Member,
    Resource,
    Server,
)
from bot.habits import EventKind
from bot.services.conversations import week_of

SERVER = 1001
OTHER_SERVER = 2002
# A Wednesday afternoon: a server's challenge week rarely starts on a UTC Monday.
START = datetime(2026, 11, 4, 15, tzinfo=UTC)
END = START + timedelta(days=7)
LONG_AGO = START - timedelta(days=365)

ANA, BEN, CAL, DEE, EVE, FAY, GUS = 11, 12, 13, 14, 15, 16, 17
PEOPLE = (ANA, BEN, CAL, DEE, EVE, FAY, GUS)

REPLY = EventKind.REPLY
THREAD = EventKind.THREAD_MESSAGE
REACTION = EventKind.REACTION


def day(days: float) -> datetime:
    """A moment ``days`` after the week starts (negative: before it)."""
    return START + timedelta(days=days)


def event(
    member: int,
    kind: EventKind,
    at: datetime,
    other: int | None = None,
    *,
    server_id: int = SERVER,
    resource_id: int | None = None,
    channel_id: int | None = None,
    message_id: int | None = None,
) -> ActivityEvent:
    return ActivityEvent(
        server_id=server_id,
        member_id=member,
        kind=kind.value,
        occurred_at=at,
        other_member_id=other,
        resource_id=resource_id,
        channel_id=channel_id,
        message_id=message_id,
    )


def resource(resource_id: int, shared_by: int) -> Resource:
    return Resource(
        id=resource_id,
        server_id=SERVER,
        shared_by=shared_by,
        url=f"https://example.org/{resource_id}",
        url_hash=f"{resource_id:064d}",
        channel_id=1,
        created_at=LONG_AGO,
    )


def ask(ask_id: int, asker: int, answers: Iterable[tuple[int, datetime]] = ()) -> list[Base]:
    """An ask and its answers (answerer, time), with the first answer's time as stored."""
    found = list(answers)
    rows: list[Base] = [
        Ask(
            id=ask_id,
            server_id=SERVER,
            asker_id=asker,
            question="How do you run exit tickets?",
            channel_id=1,
            created_at=LONG_AGO,
            first_answer_at=min((at for who, at in found if who != asker), default=None),
        )
    ]
    rows += [
        AskAnswer(
            ask_id=ask_id,
            message_id=ask_id * 100 + number,
            server_id=SERVER,
            answerer_id=who,
            answered_at=at,
        )
        for number, (who, at) in enumerate(found)
    ]
    return rows


# Rows that others refer to go in first.
_FIRST = (Resource, Ask)


async def seed(
    database: Database,
    rows: Iterable[Base],
    *,
    arrived: dict[int, datetime] | None = None,
    servers: Collection[int] = (SERVER,),
) -> None:
    """A server (or two) whose members arrived long ago (or at ``arrived``), then ``rows``."""
    first_seen = dict.fromkeys(PEOPLE, LONG_AGO) | (arrived or {})
    rows = list(rows)
    async with database.write() as session:
        session.add_all(Server(id=server, name="Demo Educators") for server in servers)
        await session.flush()
        session.add_all(
            Member(
                server_id=server,
                user_id=person,
                display_name=f"T{person}",
                first_seen_at=at,
                last_seen_at=at,
            )
            for server in servers
            for person, at in first_seen.items()
        )
        await session.flush()
        session.add_all(row for row in rows if isinstance(row, _FIRST))
        await session.flush()
        session.add_all(row for row in rows if not isinstance(row, _FIRST))


async def completed(
    database: Database,
    kind: RuleKind,
    count: int = 1,
    member_ids: Collection[int] | None = None,
) -> set[int]:
    async with database.read() as session:
        return await members_who_completed(
            session,
            CompletionRule(kind, count),
            server_id=SERVER,
            start=START,
            end=END,
            member_ids=member_ids,
        )


# -- Connect ---------------------------------------------------------------------------------


async def test_reach_new_people_counts_only_people_never_reached_either_way(
    database: Database,
) -> None:
    await seed(
        database,
        [
            # Ana reaches two people she never had anything to do with.
            event(ANA, REPLY, day(1), BEN),
            event(ANA, REACTION, day(2), CAL),
            # Ben reaches Dee (new) and Eve, who reacted to him before the week.
            event(EVE, REACTION, day(-20), BEN),
            event(BEN, REPLY, day(1), DEE),
            event(BEN, REACTION, day(1), EVE),
            # Cal: Dee is not new, Fay only after the week, Eve is new.
            event(CAL, REPLY, day(-3), DEE),
            event(CAL, REPLY, day(2), DEE),
            event(CAL, THREAD, day(3), EVE, channel_id=77),
            event(CAL, REPLY, END, FAY),
            # Dee reached people only before the week; Gus talks to himself, then Fay.
            event(DEE, REPLY, day(-1), FAY),
            event(DEE, REPLY, day(-1), GUS),
            event(GUS, REPLY, day(1), GUS),
            event(GUS, REPLY, day(1), FAY),
            event(GUS, REPLY, day(2), FAY),
        ],
    )
    assert await completed(database, RuleKind.REACH_NEW_PEOPLE, 2) == {ANA}
    assert await completed(database, RuleKind.REACH_NEW_PEOPLE, 1) == {ANA, BEN, CAL, GUS}
    assert await completed(database, RuleKind.REACH_NEW_PEOPLE, 2, [BEN, ANA]) == {ANA}
    assert await completed(database, RuleKind.REACH_NEW_PEOPLE, 2, [BEN]) == set()
    assert await completed(database, RuleKind.REACH_NEW_PEOPLE, 1, []) == set()


async def test_reply_to_people_counts_distinct_people_replied_to(database: Database) -> None:
    await seed(
        database,
        [
            event(ANA, REPLY, day(1), BEN),
            event(ANA, THREAD, day(6.9), CAL, channel_id=77),
            # Ben replies to Cal twice and reacts to Dee: one person replied to.
            event(BEN, REPLY, day(1), CAL),
            event(BEN, REPLY, day(2), CAL),
            event(BEN, REACTION, day(2), DEE),
            # Cal: one reply in the week, one before it, one exactly at its end.
            event(CAL, REPLY, day(2), DEE),
            event(CAL, REPLY, day(-0.01), EVE),
            event(CAL, REPLY, END, FAY),
            # Dee opens a thread (nobody answered) and replies to Ana.
            event(DEE, THREAD, day(1), None, channel_id=78),
            event(DEE, REPLY, day(1), ANA),
        ],
    )
    assert await completed(database, RuleKind.REPLY_TO_PEOPLE, 2) == {ANA}
    assert await completed(database, RuleKind.REPLY_TO_PEOPLE, 1) == {ANA, BEN, CAL, DEE}


async def test_react_to_people_counts_distinct_people_reacted_to(database: Database) -> None:
    await seed(
        database,
        [
            event(ANA, REACTION, day(0), BEN),
            event(ANA, REACTION, day(3), CAL),
            event(BEN, REACTION, day(1), CAL, message_id=1),
            event(BEN, REACTION, day(1), CAL, message_id=2),
            event(BEN, REPLY, day(1), DEE),
            event(CAL, REACTION, day(1), DEE),
            event(CAL, REACTION, day(-2), EVE),
            event(CAL, REACTION, day(8), FAY),
        ],
    )
    assert await completed(database, RuleKind.REACT_TO_PEOPLE, 2) == {ANA}
    assert await completed(database, RuleKind.REACT_TO_PEOPLE, 1) == {ANA, BEN, CAL}


async def test_welcome_newcomer_counts_people_in_their_first_two_weeks(
    database: Database,
) -> None:
    new1, new2, old = 31, 32, 33
    await seed(
        database,
        [
            # Ana welcomes both newcomers: 11 days and 1 day after they arrived.
            event(ANA, REPLY, day(1), new1),
            event(ANA, REACTION, day(3), new2),
            # Ben: too late for new1 (15 days), old is not new, new2 before the bot saw them,
            # and then a real welcome to new2.
            event(BEN, REPLY, day(5), new1),
            event(BEN, REACTION, day(1), old),
            event(BEN, REPLY, day(1), new2),
            event(BEN, REACTION, day(6), new2),
            # Cal welcomed new1 before the week.
            event(CAL, REPLY, day(-1), new1),
            # Newcomers welcoming each other count too; someone without a row is nobody new.
            event(new1, REPLY, day(3), new2),
            event(DEE, REACTION, day(2), 999),
        ],
        arrived={new1: day(-10), new2: day(2), old: day(-20)},
    )
    assert await completed(database, RuleKind.WELCOME_NEWCOMER, 2) == {ANA}
    assert await completed(database, RuleKind.WELCOME_NEWCOMER, 1) == {ANA, BEN, new1}
    assert await completed(database, RuleKind.WELCOME_NEWCOMER, 1, [CAL, DEE]) == set()


async def test_introduce_yourself_counts_an_intro_written_or_updated_in_the_week(
    database: Database,
) -> None:
    def intro(user_id: int, created: datetime, updated: datetime) -> Introduction:
        return Introduction(
            server_id=SERVER,
            user_id=user_id,
            role="Teacher",
            subjects="science",
            grade_bands="grade 7",
            learning="assessment",
            helping="labs",
            created_at=created,
            updated_at=updated,
        )

    await seed(
        database,
        [
            intro(ANA, day(1), day(1)),
            intro(BEN, day(-30), day(4)),
            intro(CAL, day(-30), day(-1)),
            intro(DEE, END, END),
        ],
    )
    assert await completed(database, RuleKind.INTRODUCE_YOURSELF) == {ANA, BEN}
    assert await completed(database, RuleKind.INTRODUCE_YOURSELF, member_ids=[CAL]) == set()
    assert await completed(database, RuleKind.INTRODUCE_YOURSELF, member_ids=[BEN]) == {BEN}


# -- Contribute ------------------------------------------------------------------------------


async def test_share_counts_the_weeks_shares(database: Database) -> None:
    await seed(
        database,
        [
            *(
                resource(number, owner)
                for number, owner in enumerate([ANA, ANA, BEN, BEN, CAL, CAL], 1)
            ),
            event(ANA, EventKind.SHARE, day(0), resource_id=1),
            event(ANA, EventKind.SHARE, day(6), resource_id=2),
            event(BEN, EventKind.SHARE, day(2), resource_id=3),
            event(BEN, EventKind.SHARE, day(-2), resource_id=4),
            event(BEN, EventKind.RESHARE, day(2), ANA, resource_id=1),
            event(CAL, EventKind.SHARE, day(2), resource_id=5),
            event(CAL, EventKind.SHARE, END, resource_id=6),
        ],
    )
    assert await completed(database, RuleKind.SHARE, 2) == {ANA}
    assert await completed(database, RuleKind.SHARE, 1) == {ANA, BEN, CAL}


async def test_share_found_useful_counts_colleagues_who_used_your_resources(
    database: Database,
) -> None:
    useful = EventKind.MARKED_USEFUL
    await seed(
        database,
        [
            resource(1, ANA),
            resource(2, ANA),
            resource(3, BEN),
            resource(4, CAL),
            # Ana: Ben marks one useful, Cal reacts to the other's card; Dee's mark is old.
            event(BEN, useful, day(1), ANA, resource_id=1),
            event(CAL, REACTION, day(2), ANA, resource_id=2),
            event(DEE, useful, day(-1), ANA, resource_id=1),
            # Ben: Cal in the week; Dee at its end; his own mark is nobody's.
            event(CAL, useful, day(3), BEN, resource_id=3),
            event(DEE, useful, END, BEN, resource_id=3),
            event(BEN, useful, day(3), BEN, resource_id=3),
            # Cal: Dee reshared his link; Eve's reaction is to an ordinary message.
            event(DEE, EventKind.RESHARE, day(4), CAL, resource_id=4),
            event(EVE, REACTION, day(4), CAL),
        ],
    )
    assert await completed(database, RuleKind.SHARE_FOUND_USEFUL, 2) == {ANA}
    assert await completed(database, RuleKind.SHARE_FOUND_USEFUL, 1) == {ANA, BEN, CAL}
    assert await completed(database, RuleKind.SHARE_FOUND_USEFUL, 1, [CAL, DEE]) == {CAL}


async def test_answer_asks_counts_distinct_asks_of_others(database: Database) -> None:
    await seed(
        database,
        [
            *ask(
                1, ANA, [(DEE, day(1)), (DEE, day(2)), (EVE, day(1)), (EVE, day(3)), (ANA, day(2))]
            ),
            *ask(2, BEN, [(DEE, day(4)), (FAY, day(4)), (ANA, day(5))]),
            *ask(3, CAL, [(EVE, day(-1)), (FAY, END)]),
        ],
    )
    assert await completed(database, RuleKind.ANSWER_ASKS, 2) == {DEE}
    # Ana's message in her own ask's thread is not an answer.
    assert await completed(database, RuleKind.ANSWER_ASKS, 1) == {ANA, DEE, EVE, FAY}


async def test_first_answer_counts_asks_the_member_answered_first_this_week(
    database: Database,
) -> None:
    await seed(
        database,
        [
            *ask(1, ANA, [(DEE, day(1)), (EVE, day(2))]),
            # Eve was first, but before the week; Dee answered later.
            *ask(2, BEN, [(EVE, day(-1)), (DEE, day(1))]),
            *ask(3, CAL, [(FAY, END)]),
            *ask(4, ANA, [(GUS, day(2))]),
            *ask(5, BEN, [(GUS, day(3)), (DEE, day(4))]),
        ],
    )
    assert await completed(database, RuleKind.FIRST_ANSWER, 2) == {GUS}
    assert await completed(database, RuleKind.FIRST_ANSWER, 1) == {DEE, GUS}


async def test_helpful_answer_counts_answers_marked_helpful_this_week(
    database: Database,
) -> None:
    helpful = EventKind.HELPFUL_ANSWER
    await seed(
        database,
        [
            event(DEE, helpful, day(1), ANA, message_id=1),
            event(DEE, helpful, day(2), BEN, message_id=2),
            event(EVE, helpful, day(1), ANA, message_id=3),
            event(EVE, helpful, day(-1), ANA, message_id=4),
            event(FAY, helpful, day(1), ANA, message_id=5),
            event(FAY, helpful, END, ANA, message_id=6),
        ],
    )
    assert await completed(database, RuleKind.HELPFUL_ANSWER, 2) == {DEE}
    assert await completed(database, RuleKind.HELPFUL_ANSWER, 1) == {DEE, EVE, FAY}


# -- Converse --------------------------------------------------------------------------------


def _conversations() -> list[Base]:
    return [
        # Ana and Ben: answered within 72 hours, inside the week.
        event(ANA, REPLY, day(1), BEN),
        event(BEN, REPLY, day(2), ANA),
        # Ben and Cal: begun the day before the week, answered in it.
        event(BEN, REPLY, day(-1), CAL),
        event(CAL, REACTION, day(1), BEN),
        # Ana and Dee: answered after 96 hours.
        event(ANA, REPLY, day(1), DEE),
        event(DEE, REPLY, day(5), ANA),
        # Cal and Dee: answered only after the week.
        event(CAL, REPLY, day(6), DEE),
        event(DEE, REPLY, END + timedelta(hours=1), CAL),
        # Eve and Fay: a conversation before the week, then Fay again, unanswered.
        event(EVE, REPLY, day(-5), FAY),
        event(FAY, REPLY, day(-4), EVE),
        event(FAY, REPLY, day(1), EVE),
        # Ana and Eve: a slow thread whose third turn is this week.
        event(ANA, THREAD, day(-10), EVE, channel_id=501),
        event(EVE, THREAD, day(-6), ANA, channel_id=501),
        event(ANA, THREAD, day(1), EVE, channel_id=501),
        # Dee and Gus: two slow turns this week, the third after it.
        event(DEE, THREAD, day(1), GUS, channel_id=502),
        event(GUS, THREAD, day(5), DEE, channel_id=502),
        event(DEE, THREAD, END + timedelta(days=1), GUS, channel_id=502),
        # Eve and Fay's three turns in another thread were all before the week.
        event(EVE, THREAD, day(-9), FAY, channel_id=503),
        event(FAY, THREAD, day(-8), EVE, channel_id=503),
        event(EVE, THREAD, day(-7), FAY, channel_id=503),
        event(GUS, THREAD, day(1), EVE, channel_id=503),
    ]


async def test_converse_with_counts_partners_in_conversations_this_week(
    database: Database,
) -> None:
    await seed(database, _conversations())
    assert await completed(database, RuleKind.CONVERSE_WITH, 2) == {ANA, BEN}
    assert await completed(database, RuleKind.CONVERSE_WITH, 1) == {ANA, BEN, CAL, EVE}
    assert await completed(database, RuleKind.CONVERSE_WITH, 1, [CAL]) == {CAL}
    assert await completed(database, RuleKind.CONVERSE_WITH, 1, [EVE, DEE, GUS]) == {EVE}
    assert await completed(database, RuleKind.CONVERSE_WITH, 3) == set()


async def test_converse_again_needs_a_conversation_in_an_earlier_week(
    database: Database,
) -> None:
    this_week = week_of(START)

    def talked(one: int, other: int, week: date) -> ConversationWeek:
        a, b = sorted((one, other))
        return ConversationWeek(server_id=SERVER, member_a=a, member_b=b, week=week)

    await seed(
        database,
        [
            *_conversations(),
            # Ana and Cal talk this week too.
            event(CAL, REPLY, day(3), ANA),
            event(ANA, REACTION, day(3.5), CAL),
            talked(ANA, BEN, this_week - timedelta(weeks=2)),
            talked(ANA, CAL, this_week - timedelta(weeks=5)),
            # Ben and Cal's only earlier conversation is in the week the challenge starts.
            talked(BEN, CAL, this_week),
            # Eve and Fay talked before, but not this week.
            talked(EVE, FAY, this_week - timedelta(weeks=1)),
        ],
    )
    assert await completed(database, RuleKind.CONVERSE_AGAIN, 2) == {ANA}
    assert await completed(database, RuleKind.CONVERSE_AGAIN, 1) == {ANA, BEN, CAL}
    assert await completed(database, RuleKind.CONVERSE_AGAIN, 1, [BEN, EVE]) == {BEN}


async def test_reply_back_counts_replies_to_people_who_reached_out_first(
    database: Database,
) -> None:
    await seed(
        database,
        [
            # Ana answers Ben (who wrote before the week) and Cal (who reacted this week).
            event(BEN, REPLY, day(-3), ANA),
            event(ANA, REPLY, day(1), BEN),
            event(CAL, REACTION, day(1), ANA),
            event(ANA, THREAD, day(2), CAL, channel_id=501),
            # Ben: Dee wrote too long ago; Ben wrote to Eve before Eve wrote; Fay counts.
            event(DEE, REPLY, day(-20), BEN),
            event(BEN, REPLY, day(1), DEE),
            event(BEN, REPLY, day(2), EVE),
            event(EVE, REPLY, day(3), BEN),
            event(FAY, REACTION, day(1), BEN),
            event(BEN, REPLY, day(2), FAY),
            # Cal answers Gus only after the week, and reacting back is not a reply.
            event(GUS, REPLY, day(1), CAL),
            event(CAL, REPLY, END, GUS),
            event(GUS, REPLY, day(1), CAL),
            event(CAL, REACTION, day(2), GUS),
        ],
    )
    assert await completed(database, RuleKind.REPLY_BACK, 2) == {ANA}
    assert await completed(database, RuleKind.REPLY_BACK, 1) == {ANA, BEN, EVE}


# -- Request ---------------------------------------------------------------------------------


async def test_ask_counts_the_weeks_asks_in_this_server(database: Database) -> None:
    asked = EventKind.ASK
    await seed(
        database,
        [
            event(ANA, asked, day(1)),
            event(ANA, asked, day(2)),
            event(BEN, asked, day(1)),
            event(BEN, asked, day(-1)),
            event(CAL, asked, day(1)),
            event(CAL, asked, END),
            event(CAL, asked, day(1), server_id=OTHER_SERVER),
        ],
        servers=(SERVER, OTHER_SERVER),
    )
    assert await completed(database, RuleKind.ASK, 2) == {ANA}
    assert await completed(database, RuleKind.ASK, 1) == {ANA, BEN, CAL}


async def test_ask_answered_counts_the_members_asks_answered_this_week(
    database: Database,
) -> None:
    await seed(
        database,
        [
            *ask(1, ANA, [(DEE, day(1))]),
            *ask(2, ANA, [(EVE, day(6)), (DEE, day(6.5))]),
            *ask(3, BEN, [(DEE, day(2))]),
            *ask(4, BEN, [(EVE, day(-2)), (BEN, day(2))]),
            *ask(5, CAL, [(DEE, END)]),
        ],
    )
    assert await completed(database, RuleKind.ASK_ANSWERED, 2) == {ANA}
    assert await completed(database, RuleKind.ASK_ANSWERED, 1) == {ANA, BEN}


async def test_mark_helpful_counts_answers_the_member_marked_this_week(
    database: Database,
) -> None:
    marked = EventKind.MARKED_HELPFUL
    await seed(
        database,
        [
            event(ANA, marked, day(1), DEE, message_id=1),
            event(ANA, marked, day(2), EVE, message_id=2),
            event(BEN, marked, day(1), DEE, message_id=3),
            event(BEN, marked, day(-1), DEE, message_id=4),
            event(CAL, marked, END, DEE, message_id=5),
        ],
    )
    assert await completed(database, RuleKind.MARK_HELPFUL, 2) == {ANA}
    assert await completed(database, RuleKind.MARK_HELPFUL, 1) == {ANA, BEN}


# -- The week itself -------------------------------------------------------------------------


async def test_a_naive_week_is_refused_and_an_empty_one_is_nobody(database: Database) -> None:
    await seed(database, [event(ANA, EventKind.ASK, day(1))])
    async with database.read() as session:
        with pytest.raises(ValueError, match="aware"):
            await members_who_completed(
                session,
                CompletionRule(RuleKind.ASK),
                server_id=SERVER,
                start=START.replace(tzinfo=None),
                end=END,
            )
        assert (
            await members_who_completed(
                session, CompletionRule(RuleKind.ASK), server_id=SERVER, start=END, end=START
            )
            == set()
        )


def test_a_rule_needs_a_sensible_count() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CompletionRule(RuleKind.SHARE, 0)
    with pytest.raises(ValueError, match="one intro"):
        CompletionRule(RuleKind.INTRODUCE_YOURSELF, 2)
