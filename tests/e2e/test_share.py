"""/share end to end: the real bot, the emulator, a real database."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from discord import app_commands
from sqlalchemy import text

from bot.app import PLNCoachBot
from bot.command_sync import sync_commands
from bot.db import ActivityEvent, Resource
from bot.interaction_delays import InteractionDelays
from cogs import _acknowledge as acknowledge
from emulator.interactions import Interaction
from tests.e2e.conftest import BotProcess, Community
from tests.e2e.helpers import (
    EPHEMERAL,
    answer_when,
    as_rendered,
    bot_posts,
    count_rows,
    eventually,
    press_button,
    run_command,
    text_of,
)


async def test_share_posts_a_card_and_answers_privately(
    coach: PLNCoachBot, community: Community
) -> None:
    reply = await run_command(
        community,
        community.ana.id,
        "share",
        {
            "url": "https://example.org/fractions",
            "title": "Fractions warm-up",
            "note": "Ten minutes, works with any grade",
            "tags": "Math, #7th grade",
        },
    )
    assert reply.flags & EPHEMERAL
    assert "Shared!" in reply.content
    assert "Fractions warm-up" in reply.content
    assert "`#math` `#7th-grade`" in reply.content
    assert "Next step" in reply.content

    [card] = bot_posts(community, community.general.id)
    [embed] = card.embeds
    assert embed["title"] == "Fractions warm-up"
    assert embed["url"] == "https://example.org/fractions"
    assert embed["description"] == "Ten minutes, works with any grade"
    assert embed["author"]["name"] == "Shared by Ana"
    assert "`#math` `#7th-grade`" in text_of(card)
    [row] = card.components
    [button] = row["components"]
    assert button["label"] == "Useful"
    assert button["custom_id"].startswith("pln:resource:useful:")
    assert str(card.id) in reply.content  # the receipt links to the card
    assert await count_rows(coach, Resource) == 1


async def test_a_bad_link_gets_a_friendly_private_error_and_stores_nothing(
    coach: PLNCoachBot, community: Community
) -> None:
    reply = await run_command(
        community, community.ana.id, "share", {"url": "www.example.org/no-scheme"}
    )
    assert reply.flags & EPHEMERAL
    assert "https://" in reply.content
    assert bot_posts(community, community.general.id) == []
    assert await count_rows(coach, Resource) == 0
    assert await count_rows(coach, ActivityEvent) == 0


async def test_the_same_link_again_points_to_the_first_card(
    coach: PLNCoachBot, community: Community
) -> None:
    await run_command(community, community.ana.id, "share", {"url": "https://example.org/f"})
    [card] = bot_posts(community, community.general.id)
    reply = await run_command(
        community,
        community.ben.id,
        "share",
        {"url": "https://EXAMPLE.org/f/?utm_source=newsletter"},
        channel_id=community.resources.id,
    )
    assert "Ana** already shared this link" in reply.content
    assert f"/{community.general.id}/{card.id}" in reply.content
    assert bot_posts(community, community.general.id) == [card]
    assert bot_posts(community, community.resources.id) == []
    assert await count_rows(coach, Resource) == 1

    mine = await run_command(community, community.ana.id, "share", {"url": "https://example.org/f"})
    assert "You already shared this link" in mine.content


async def test_over_long_tags_are_refused_and_nothing_is_stored(
    coach: PLNCoachBot, community: Community
) -> None:
    reply = await run_command(
        community,
        community.ana.id,
        "share",
        {"url": "https://example.org/a", "tags": "a, b, c, d, e, f"},
    )
    assert reply.flags & EPHEMERAL
    assert "at most 5" in reply.content
    reply = await run_command(
        community, community.ana.id, "share", {"url": "https://example.org/a", "tags": "x" * 40}
    )
    assert "too long" in reply.content
    assert await count_rows(coach, Resource) == 0
    assert bot_posts(community, community.general.id) == []


async def test_over_long_title_is_stopped_by_the_command_definition(
    coach: PLNCoachBot, community: Community
) -> None:
    """Discord's client enforces the option's max_length, so members see the limit as they type."""
    [share] = [c for c in community.emulator.commands(community.app.id) if c["name"] == "share"]
    limits = {option["name"]: option.get("max_length") for option in share["options"]}
    assert limits == {"url": 2048, "title": 200, "note": 1000, "tags": 200}
    with pytest.raises(ValueError, match="title"):
        await community.emulator.run_slash_command(
            community.guild.id,
            community.general.id,
            community.ana.id,
            "share",
            {"url": "https://example.org/a", "title": "t" * 201},
        )
    assert await count_rows(coach, Resource) == 0


async def test_mentions_in_shared_text_ping_nobody(
    coach: PLNCoachBot, community: Community
) -> None:
    sneaky = f"@everyone @here <@{community.ben.id}> <@&{community.teachers.id}>"
    reply = await run_command(
        community,
        community.ana.id,
        "share",
        {"url": "https://example.org/m", "title": sneaky, "note": sneaky},
    )
    [card] = bot_posts(community, community.general.id)
    assert sneaky in as_rendered(text_of(card))  # shown as written...
    assert "\\@everyone" in text_of(card)  # ...with the mention escaped, not live
    assert "@everyone" in as_rendered(reply.content)
    for message in community.emulator.messages_in(community.general.id):
        assert not message.pings.any, message  # ...but nobody is pinged


async def test_cards_go_to_the_shares_channel_an_admin_chose(
    coach: PLNCoachBot, community: Community
) -> None:
    denied = await run_command(
        community,
        community.ana.id,
        "pln shares-channel",
        {"channel": community.resources.id},
    )
    assert "Manage Server" in denied.content
    done = await run_command(
        community, community.admin.id, "pln shares-channel", {"channel": community.resources.id}
    )
    assert "Done" in done.content
    await run_command(community, community.ana.id, "share", {"url": "https://example.org/x"})
    assert bot_posts(community, community.general.id) == []
    assert len(bot_posts(community, community.resources.id)) == 1


async def test_without_permission_to_post_the_share_is_kept_and_the_member_told(
    coach: PLNCoachBot, community: Community
) -> None:
    send_messages = 1 << 11
    community.emulator.set_permission_overwrite(
        community.general.id, community.bot_role.id, deny=send_messages, type=0
    )
    requests_before = len(community.emulator.requests)
    reply = await run_command(community, community.ana.id, "share", {"url": "https://a.org/p"})
    assert "couldn't post the card" in reply.content
    assert "missing Send Messages there" in reply.content
    assert "Embed Links" not in reply.content  # only what the admin actually has to change
    assert await count_rows(coach, Resource) == 1
    # The bot checked first instead of collecting a 403 (which counts toward a Cloudflare ban).
    assert all(r.status != 403 for r in community.emulator.requests[requests_before:])


async def test_useful_button_counts_toward_practicing_and_survives_a_restart(
    bot_process: BotProcess, community: Community
) -> None:
    await bot_process.start()
    for n in range(3):
        await run_command(community, community.ana.id, "share", {"url": f"https://a.org/{n}"})
    first_card = bot_posts(community, community.general.id)[0]

    bot = await bot_process.restart()
    own = await press_button(community, first_card, community.ana.id)
    assert "your own share" in own.content
    answer = await press_button(community, first_card, community.ben.id)
    assert answer.flags & EPHEMERAL
    assert "counts toward Ana's Contribute habit" in answer.content

    progress = await run_command(community, community.ana.id, "progress")
    assert "Contribute — ◑ Practicing" in text_of(progress)
    assert await count_rows(bot, Resource) == 3


async def test_data_and_command_registration_are_kept_across_a_restart(
    bot_process: BotProcess, community: Community
) -> None:
    await bot_process.start()
    await run_command(community, community.ana.id, "share", {"url": "https://example.org/k"})
    writes = community.emulator.command_writes
    assert writes >= 1

    await bot_process.restart()
    assert community.emulator.command_writes == writes  # unchanged commands are not re-synced
    progress = await run_command(community, community.ana.id, "progress")
    assert "Contribute — ◔ Started" in text_of(progress)
    again = await run_command(
        community, community.ana.id, "share", {"url": "https://example.org/k"}
    )
    assert "You already shared this link" in again.content


async def test_commands_are_synced_again_only_when_they_change_or_on_request(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    assert coach.application_id is not None
    writes = emu.command_writes

    async def sync(force: bool = False) -> bool:
        return await sync_commands(
            coach.tree,
            coach.services.state,
            application_id=coach.application_id or 0,
            dev_guild_id=None,
            force=force,
        )

    assert not await sync()
    assert emu.command_writes == writes

    @app_commands.command(name="extra", description="A command added in a later release.")
    async def extra(interaction: object) -> None:
        raise NotImplementedError

    coach.tree.add_command(extra)
    assert await sync()
    assert "extra" in {command["name"] for command in emu.commands(community.app.id)}
    assert await sync(force=True)
    assert emu.command_writes == writes + 2


async def test_a_card_that_could_not_be_posted_is_posted_when_the_link_is_shared_again(
    coach: PLNCoachBot, community: Community
) -> None:
    emu = community.emulator
    send_messages = 1 << 11
    emu.set_permission_overwrite(community.general.id, community.bot_role.id, deny=send_messages)
    await run_command(community, community.ana.id, "share", {"url": "https://a.org/retry"})
    assert bot_posts(community, community.general.id) == []

    emu.set_permission_overwrite(community.general.id, community.bot_role.id, deny=0)
    # Posting there paused at the refusal; the admin's check resumes it.
    assert (
        "Posting resumed" in (await run_command(community, community.admin.id, "pln check")).content
    )
    reply = await run_command(community, community.ben.id, "share", {"url": "https://a.org/retry"})
    [card] = bot_posts(community, community.general.id)
    assert card.embeds[0]["author"]["name"] == "Shared by Ana"  # still Ana's contribution
    assert f"Their card: https://discord.com/channels/{community.guild.id}/" in reply.content
    assert "its card was missing, so I posted it" in reply.content
    again = await run_command(community, community.ana.id, "share", {"url": "https://a.org/retry"})
    assert str(card.id) in again.content
    assert len(bot_posts(community, community.general.id)) == 1


async def test_if_the_shares_channel_was_deleted_the_card_goes_where_share_was_used(
    coach: PLNCoachBot, community: Community
) -> None:
    await run_command(
        community, community.admin.id, "pln shares-channel", {"channel": community.resources.id}
    )
    community.emulator.remove_channel(community.resources.id)
    reply = await run_command(community, community.ana.id, "share", {"url": "https://a.org/gone"})
    assert len(bot_posts(community, community.general.id)) == 1
    assert "shares channel no longer exists" in reply.content


async def test_a_masked_link_in_the_note_shows_where_it_really_goes(
    coach: PLNCoachBot, community: Community
) -> None:
    await run_command(
        community,
        community.ana.id,
        "share",
        {"url": "https://a.org/m", "note": "Start with [the answer key](https://evil.example/k)"},
    )
    [card] = bot_posts(community, community.general.id)
    assert card.embeds[0]["description"] == "Start with the answer key (https://evil.example/k)"


async def test_a_failing_button_still_answers_the_member(
    coach: PLNCoachBot, community: Community
) -> None:
    await run_command(community, community.ana.id, "share", {"url": "https://a.org/b"})
    [card] = bot_posts(community, community.general.id)
    async with coach.services.database.write() as session:
        await session.execute(text("DROP TABLE activity_events"))
    answer = await press_button(community, card, community.ben.id)
    assert answer.flags & EPHEMERAL
    assert "something went wrong on my side" in answer.content


async def test_mentioning_the_bot_in_chat_is_quietly_ignored(
    coach: PLNCoachBot, community: Community, caplog: pytest.LogCaptureFixture
) -> None:
    await community.emulator.send_message(
        community.general.id, community.ana.id, f"<@{community.app.bot_user.id}> hi!"
    )
    reply = await run_command(community, community.ana.id, "ping")  # the bot is still fine
    assert "Pong" in reply.content
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert bot_posts(community, community.general.id) == []


async def test_members_sharing_one_link_at_the_same_moment_get_one_card(
    coach: PLNCoachBot, community: Community
) -> None:
    members = [community.ana.id, community.ben.id, community.admin.id]
    replies = await asyncio.gather(
        *(run_command(community, m, "share", {"url": "https://a.org/same"}) for m in members)
    )
    [card] = bot_posts(community, community.general.id)
    assert sum("**Shared!**" in reply.content for reply in replies) == 1
    for reply in replies:  # everyone is pointed at the one card (or told it is on its way)
        assert str(card.id) in reply.content or "isn't posted yet" in reply.content


@contextlib.asynccontextmanager
async def acknowledgements_held(community: Community) -> AsyncIterator[None]:
    """Discord takes no acknowledgement until the block ends."""
    taking_them = community.emulator.hold_requests("POST", "/interactions/")
    try:
        yield
    finally:
        taking_them.set()


async def ana_shares(community: Community, url: str) -> Interaction:
    return await community.emulator.run_slash_command(
        community.guild.id, community.general.id, community.ana.id, "share", {"url": url}
    )


def first_acknowledgement_refused(community: Community) -> bool:
    callbacks = [r for r in community.emulator.requests if r.path.startswith("/interactions/")]
    return bool(callbacks) and callbacks[0].status == 404


async def test_a_share_is_stored_while_discord_takes_the_acknowledgement(
    coach: PLNCoachBot, community: Community
) -> None:
    """The share's write doesn't wait for the acknowledgement's round trip; its card does."""
    general = community.general.id
    async with acknowledgements_held(community):
        ix = await ana_shares(community, "https://example.org/fractions")
        await eventually(
            lambda: count_rows(coach, Resource),
            what="the share stored while its acknowledgement is in flight",
        )
        await asyncio.sleep(0.1)
        assert bot_posts(community, general) == [], "the card waits for the acknowledgement"
    answer = await answer_when(ix, lambda text: "**Shared!**" in text)
    [card] = bot_posts(community, general)
    assert str(card.id) in answer


async def test_a_share_that_reaches_the_bot_too_late_stores_nothing(
    coach: PLNCoachBot,
    community: Community,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Discord refuses an acknowledgement after its deadline; a command that arrives that late
    acknowledges before it stores, so a refused one leaves no share and no card behind, and the
    admin reads in the log that commands reach the bot late."""
    # Discord's 3 s and the bot's 2 s margin, scaled down to keep the test short.
    monkeypatch.setattr(community.emulator.responder, "deadline", 0.4)
    monkeypatch.setattr(acknowledge, "LATE_AFTER", timedelta(seconds=0.2))
    monkeypatch.setattr(acknowledge, "_delays", InteractionDelays())  # none warned yet
    await ana_shares(community, "https://example.org/late")
    time.sleep(0.5)  # noqa: ASYNC251 - the event loop stalls, so the bot hears the command late
    await eventually(
        lambda: first_acknowledgement_refused(community),
        what="Discord refusing the late acknowledgement",
    )
    await asyncio.sleep(0.2)
    assert await count_rows(coach, Resource) == 0
    assert bot_posts(community, community.general.id) == []
    [warning] = [r for r in caplog.records if "reached the bot over 0.2 s" in r.getMessage()]
    assert warning.levelname == "WARNING"


async def test_the_answer_sweep_leaves_an_answer_whose_acknowledgement_is_in_flight(
    coach: PLNCoachBot, community: Community
) -> None:
    """The share's answer is stored before Discord has taken the acknowledgement; a sweep of
    stored answers passing then must leave it to the command (editing it so early would find
    no message, and the member would be left with "thinking…")."""
    async with acknowledgements_held(community):
        ix = await ana_shares(community, "https://example.org/fractions")
        await eventually(lambda: count_rows(coach, Resource), what="the share stored")
        await coach.answers._retry_stored()  # the sweep's pass, every 30 s
    answer = await answer_when(ix, lambda text: "**Shared!**" in text)
    [card] = bot_posts(community, community.general.id)
    assert str(card.id) in answer


async def test_a_share_on_time_whose_acknowledgement_is_refused_still_stands(
    coach: PLNCoachBot, community: Community, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On time, the share is stored while the acknowledgement travels; if Discord still
    refuses it (here: a deadline of nothing), what the member asked for stands. Its card is
    not posted by this command (the acknowledgement failed), so it waits for its claim to lapse.
    """
    monkeypatch.setattr(community.emulator.responder, "deadline", 0.0)
    await ana_shares(community, "https://example.org/kept")
    await eventually(
        lambda: first_acknowledgement_refused(community),
        what="Discord refusing the acknowledgement",
    )
    await eventually(lambda: count_rows(coach, Resource), what="the share kept")
    await asyncio.sleep(0.2)
    assert bot_posts(community, community.general.id) == []  # not before its claim lapses
