"""Privacy on a real database: show, export, pause, forget and purge, driven by the registry.

The key check scans every table after forgetting: no column that can hold a member's or a
server's id (the registry's personal columns, and every 64-bit integer column) still holds it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import BigInteger, select

from bot.db import Base, ChallengeCompletion, ChallengeWeek, Database, MemberPreferences, Server
from bot.db.forgetting import FORGETTING
from bot.services.asks import ASK_THREAD, AskService, parse_ask, record_answers
from bot.services.interests import IntroAnswers
from bot.services.introductions import IntroductionService
from bot.services.members import Actor
from bot.services.nudges import NudgeKind, NudgeService
from bot.services.outbox import Outbox
from bot.services.pausing import PAUSED_THEM, PAUSED_YOU, TrackingPaused
from bot.services.privacy import PrivacyService
from bot.services.share_input import parse_share
from bot.services.sharing import SharingService
from bot.services.signal_batch import SignalBatchWriter
from bot.services.signals import Author, MessageSeen, ReactionAdded, Signal, ThreadCreated
from bot.services.suggestions import SuggestionService
from tests.services.clock import Clock, answer_ticket
from tests.test_forgetting import PERSONAL_COLUMNS

NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)
S1, S2 = 810000000000000001, 810000000000000002
ANA, BEN, CAL = 910000000000000011, 910000000000000012, 910000000000000013
NAMES = {ANA: "Ana", BEN: "Ben", CAL: "Cal"}
CHANNEL = 710000000000000001
THREAD = 720000000000000001
POSTED = 730000000000000000
M = 740000000000000000  # messages in the pause test
# Columns that name a member or a server, whatever their type.
ID_COLUMNS = PERSONAL_COLUMNS | {"id", "asker_id", "answerer_id", "subject_id"}


def actor(server_id: int, user_id: int) -> Actor:
    return Actor(server_id, f"Server {server_id % 10}", user_id, NAMES[user_id])


async def mentions(
    database: Database, value: int, *, server_id: int | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """Every row (of ``server_id``'s, if given) with ``value`` in a column that can hold an id."""
    found = []
    async with database.read() as session:
        for name, table in Base.metadata.tables.items():
            columns = [
                column.name
                for column in table.columns
                if column.name in ID_COLUMNS or isinstance(column.type, BigInteger)
            ]
            if not columns:
                continue
            for row in (await session.execute(select(table))).mappings():
                if server_id is not None:
                    where = row.get("server_id", row["id"] if name == "servers" else None)
                    if where != server_id:
                        continue
                if any(row[column] == value for column in columns):
                    found.append((name, dict(row)))
    return found


def signals(server_id: int) -> list[Signal]:
    ana, ben, cal = (Author(user, NAMES[user]) for user in (ANA, BEN, CAL))
    base = server_id % 100 * 1000

    def seen(message: int, author: Author, to: Author | None = None, **extra: Any) -> MessageSeen:
        channel = THREAD + server_id % 100 if extra.get("in_thread") else CHANNEL
        return MessageSeen(
            server_id,
            "Demo",
            channel,
            base + message,
            author,
            NOW,
            reply_to=to.user_id if to else None,
            **extra,
        )

    return [
        seen(1, ben, ana),  # Ben replies to Ana
        seen(2, ana, ben),  # and Ana back: a conversation
        seen(3, ana, cal),
        seen(4, cal, ben),  # Cal and Ben: nothing to do with Ana
        ReactionAdded(server_id, "Demo", CHANNEL, base + 4, ana, CAL, "👍", NOW),
        ReactionAdded(server_id, "Demo", CHANNEL, base + 3, cal, ANA, "🎉", NOW),
        ThreadCreated(server_id, "Demo", THREAD + server_id % 100, ana, NOW),
        seen(5, ben, in_thread=True, thread_owner_id=ANA),
    ]


async def ingest(database: Database, batch: list[Signal], writer: SignalBatchWriter) -> None:
    async with database.write() as session:
        speakers = await writer.write(session, batch, NOW)
    writer.remember(speakers)


async def populate(database: Database, server_id: int) -> None:
    """Ana, Ben and Cal doing a bit of everything in one server."""
    clock = Clock(NOW)
    intros = IntroductionService(database, clock=clock)
    for user, helping in ((ANA, "assessment"), (BEN, "fractions"), (CAL, "")):
        await intros.introduce(
            actor(server_id, user),
            IntroAnswers("Teacher", "math", "grade 7", "assessment", helping),
            channel_id=CHANNEL,
            answer=answer_ticket(NOW),
        )
    sharing = SharingService(database, clock=clock)
    ana_share = await sharing.share(
        actor(server_id, ANA),
        CHANNEL,
        parse_share("https://example.org/ana", "Ana's", "note", "math, k-5"),
        answer=answer_ticket(NOW),
    )
    ben_share = await sharing.share(
        actor(server_id, BEN),
        CHANNEL,
        parse_share("https://example.org/ben", "Ben's", None, "math"),
        answer=answer_ticket(NOW),
    )
    await sharing.mark_useful(
        actor(server_id, BEN), ana_share.resource.id, answer=answer_ticket(NOW)
    )
    await sharing.mark_useful(
        actor(server_id, ANA), ben_share.resource.id, answer=answer_ticket(NOW)
    )
    asks = AskService(database, clock=clock)
    ana_ask = await asks.ask(
        actor(server_id, ANA),
        parse_ask("How do I grade labs?", "fractions"),
        channel_id=CHANNEL,
        answer=answer_ticket(NOW),
    )
    ben_ask = await asks.ask(
        actor(server_id, BEN),
        parse_ask("Exit tickets?", "assessment"),
        channel_id=CHANNEL,
        answer=answer_ticket(NOW),
    )
    assert ANA in [helper.member_id for helper in ben_ask.ask.helpers]
    # Every post goes up (an ask's thread has its post's message id).
    outbox = Outbox(database, clock=clock)
    threads = {}
    for claim in await outbox.claim_due("main/run1", limit=500):
        await outbox.record_posted(claim, POSTED + claim.post_id)
        if claim.kind == ASK_THREAD:
            threads[claim.subject_id] = POSTED + claim.post_id
    ana_thread, ben_thread = threads[ana_ask.ask.id], threads[ben_ask.ask.id]
    async with database.write() as session:
        await record_answers(
            session,
            server_id,
            [
                (ben_ask.ask.id, BEN, ben_thread + 1, ANA, NOW),  # Ana answers Ben
                (ana_ask.ask.id, ANA, ana_thread + 1, BEN, NOW),  # Ben answers Ana
                (ben_ask.ask.id, BEN, ben_thread + 2, CAL, NOW),  # Cal answers Ben
            ],
        )
    # Ben finds Ana's answer helpful, Ana finds Ben's: two public thank-you notes.
    for asker, thread, author in ((BEN, ben_thread, ANA), (ANA, ana_thread, BEN)):
        await asks.mark_helpful(
            actor(server_id, asker),
            thread_id=thread,
            message_id=thread + 1,
            author_id=author,
            author_name=NAMES[author],
            posted_at=NOW,
            answer=answer_ticket(NOW),
        )
    await ingest(database, signals(server_id), SignalBatchWriter())
    nudges = NudgeService(database, clock=clock)
    await nudges.choose(actor(server_id, ANA), nudges=True)
    assert await nudges.claim(server_id, ANA, NudgeKind.DIGEST, 77)
    async with database.write() as session:
        week = ChallengeWeek(
            server_id=server_id,
            week=202649,
            challenge_key="connect-1",
            habit="connect",
            difficulty="easy",
            title="Say hi",
            text="Say hi to someone new",
            channel_id=CHANNEL,
            scheduled_for=NOW,
            starts_at=NOW,
            ends_at=NOW + timedelta(days=7),
        )
        session.add(week)
        await session.flush()
        for user in (ANA, BEN):
            session.add(
                ChallengeCompletion(
                    challenge_week_id=week.id, member_id=user, server_id=server_id, how="self"
                )
            )


def privacy(database: Database) -> PrivacyService:
    return PrivacyService(database, clock=Clock(NOW))


async def count(database: Database, model: type, *where: Any) -> int:
    async with database.read() as session:
        return len((await session.execute(select(model).where(*where))).all())


async def test_forgetting_a_member_in_a_server_leaves_nothing_about_them_there(
    database: Database,
) -> None:
    await populate(database, S1)
    await populate(database, S2)
    elsewhere = await mentions(database, ANA, server_id=S2)
    bens = await mentions(database, BEN, server_id=S1)
    assert len(await mentions(database, ANA, server_id=S1)) >= 40

    deleted = await privacy(database).forget(S1, ANA)

    assert await mentions(database, ANA, server_id=S1) == []
    assert await mentions(database, ANA, server_id=S2) == elsewhere  # another server: kept
    assert deleted.rows["members"] == 1
    for table in ("activity_events", "ties", "conversation_weeks", "ask_helpers", "ask_answers"):
        assert deleted.rows[table] > 0, table
    # Ana's intro card, share card, question's thread, and the thank-you notes for her answer
    # and in her thread were up (S2's set-up posted S1's notes): the cog deletes them.
    assert len(deleted.posts) == 5
    assert {post.server_id for post in deleted.posts} == {S1}
    # What Ben and Cal did apart from Ana stays: Ben's share, question, Cal's answer, their tie.
    left = await mentions(database, BEN, server_id=S1)
    assert 0 < len(left) < len(bens)
    kinds = {table for table, _ in left}
    assert {"members", "resources", "asks", "ties", "introductions"} <= kinds


async def test_forgetting_everywhere_leaves_nothing_in_any_server(database: Database) -> None:
    await populate(database, S1)
    await populate(database, S2)
    service = privacy(database)
    assert [server for server, _ in await service.servers_of(ANA)] == sorted([S1, S2])
    deleted = await service.forget_everywhere(ANA)
    assert await mentions(database, ANA) == []
    assert deleted.rows["members"] == 2
    assert await mentions(database, BEN, server_id=S2)
    assert await service.servers_of(ANA) == []


async def test_the_export_and_the_summary_are_exactly_what_forgetting_deletes(
    database: Database,
) -> None:
    await populate(database, S1)
    await populate(database, S2)
    service = privacy(database)
    exported = await service.export(S1, ANA)
    summary = await service.summary(S1, ANA)
    tables = exported["tables"]
    # Every table the registry says can be about a member is looked at.
    assert set(tables) == {name for name, rules in FORGETTING.items() if rules.member}
    assert {name: len(rows) for name, rows in tables.items() if rows} == summary
    for name, rows in tables.items():
        for row in rows:
            assert str(ANA) in {str(value) for value in row.values()} or name in {
                "resource_tags",
                "ask_tags",
                "ask_helpers",
                "ask_answers",
                "outbox_posts",
            }, (name, row)
            assert row.get("server_id", str(S1)) == str(S1)
    assert "interaction_token" not in str(exported)
    assert tables["introductions"][0]["helping"] == "assessment"
    assert tables["members"][0]["user_id"] == str(ANA)
    json.dumps(exported)  # JSON-ready as it is

    deleted = await service.forget(S1, ANA)
    # Nothing went by a cascade the registry did not foresee, and nothing exported was kept.
    assert deleted.rows == summary


async def test_purging_a_server_leaves_nothing_of_it(database: Database) -> None:
    await populate(database, S1)
    await populate(database, S2)
    elsewhere = await mentions(database, S2)
    service = privacy(database)
    assert await service.purge_server(S1 + 5) is None  # never seen: nothing to do
    purged = await service.purge_server(S1)
    assert purged is not None
    assert purged.name == "Server 1"
    assert purged.deleted.rows["servers"] == 1
    assert await mentions(database, S1) == []
    assert await mentions(database, S2) == elsewhere
    assert await service.purge_server(S1) is None


async def test_servers_the_bot_left_are_purged_after_the_retention_period(
    database: Database,
) -> None:
    for server in (S1, S2):
        await populate(database, server)
    service = privacy(database)
    await service.server_removed(S1, NOW - timedelta(days=31))
    await service.server_removed(S2, NOW - timedelta(days=29))
    assert await service.purge_removed_servers(NOW, timedelta(days=30), owns=lambda _s: False) == []
    [purged] = await service.purge_removed_servers(NOW, timedelta(days=30))
    assert purged.server_id == S1
    assert await mentions(database, S1) == []
    assert await count(database, Server) == 1
    # The bot came back to S2: nothing of it goes.
    await service.servers_present({S2})
    assert await service.purge_removed_servers(NOW + timedelta(days=60)) == []
    await service.server_removed(S2, NOW)
    await service.server_joined(S2)
    assert await service.purge_removed_servers(NOW + timedelta(days=60)) == []
    # Left while the bot was down: noticed when it is ready, kept for the retention period.
    await service.servers_present(set())
    assert await service.purge_removed_servers(NOW + timedelta(days=29)) == []
    assert len(await service.purge_removed_servers(NOW + timedelta(days=31))) == 1


async def test_while_paused_nothing_new_about_the_member_is_stored(database: Database) -> None:
    await populate(database, S1)
    service = privacy(database)
    assert await service.pause(actor(S1, ANA))
    assert not await service.pause(actor(S1, ANA))  # already paused
    assert (S1, ANA) in service.paused
    before = await mentions(database, ANA, server_id=S1)

    # Passive tracking: by Ana, or to her (a reply, a reaction, her thread), nothing is stored.
    later: list[Signal] = [
        MessageSeen(S1, "Demo", CHANNEL, M + 1, Author(BEN, "Ben"), NOW, reply_to=ANA),
        MessageSeen(S1, "Demo", CHANNEL, M + 2, Author(ANA, "Ana"), NOW, reply_to=BEN),
        ReactionAdded(S1, "Demo", CHANNEL, M + 2, Author(CAL, "Cal"), ANA, "👍", NOW),
        ThreadCreated(S1, "Demo", THREAD + 50, Author(ANA, "Ana"), NOW),
        MessageSeen(S1, "Demo", THREAD + 50, M + 3, Author(BEN, "Ben"), NOW, in_thread=True),
        MessageSeen(S1, "Demo", CHANNEL, M + 4, Author(CAL, "Cal"), NOW, reply_to=BEN),
    ]
    await ingest(database, later, SignalBatchWriter(service.paused))
    assert await mentions(database, ANA, server_id=S1) == before
    # Others' events that don't involve her are stored as usual.
    assert [table for table, _ in await mentions(database, M + 4)] == ["activity_events"]

    # Commands that would record something about her are refused, and change nothing.
    sharing = SharingService(database, clock=Clock(NOW))
    with pytest.raises(TrackingPaused) as refused:
        await sharing.share(
            actor(S1, ANA), CHANNEL, parse_share("https://example.org/x"), answer=answer_ticket(NOW)
        )
    assert refused.value.message == PAUSED_YOU
    [ana_resource] = [row["id"] for table, row in before if table == "resources"]
    with pytest.raises(TrackingPaused) as refused:
        await sharing.mark_useful(actor(S1, CAL), ana_resource, answer=answer_ticket(NOW))
    assert refused.value.message == PAUSED_THEM
    with pytest.raises(TrackingPaused):
        await IntroductionService(database, clock=Clock(NOW)).set_helper(
            actor(S1, ANA), "rubrics", helping=True
        )
    assert await mentions(database, ANA, server_id=S1) == before

    # Suggestions and question routing leave her out.
    suggestions = SuggestionService(database, clock=Clock(NOW))
    assert ANA not in [s.user_id for s in await suggestions.suggest(S1, CAL)]
    routed = await AskService(database, clock=Clock(NOW)).ask(
        actor(S1, CAL),
        parse_ask("Any assessment ideas?", "assessment"),
        channel_id=CHANNEL,
        answer=answer_ticket(NOW),
    )
    assert ANA not in [helper.member_id for helper in routed.ask.helpers]
    # ...and no nudge goes to her (a sent nudge is a row about her).
    assert not await NudgeService(database, clock=Clock(NOW)).claim(S1, ANA, NudgeKind.DIGEST, 78)

    # A fresh start reads the pause back.
    fresh = privacy(database)
    await fresh.load_paused()
    assert (S1, ANA) in fresh.paused
    assert await fresh.paused_since(S1, ANA) == NOW

    assert await service.resume(S1, ANA)
    assert not await service.resume(S1, ANA)
    assert (S1, ANA) not in service.paused
    assert ANA in [s.user_id for s in await suggestions.suggest(S1, CAL)]
    await ingest(
        database,
        [MessageSeen(S1, "Demo", CHANNEL, M + 5, Author(BEN, "Ben"), NOW, reply_to=ANA)],
        SignalBatchWriter(service.paused),
    )
    assert await mentions(database, M + 5)


async def test_forgetting_ends_a_pause(database: Database) -> None:
    await populate(database, S1)
    service = privacy(database)
    await service.pause(actor(S1, ANA))
    await service.forget(S1, ANA)
    assert (S1, ANA) not in service.paused
    assert await count(database, MemberPreferences, MemberPreferences.user_id == ANA) == 0
