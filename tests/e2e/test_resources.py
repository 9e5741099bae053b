"""/resources end to end: search, tag autocomplete, and pages only the searcher can turn."""

from __future__ import annotations

import pytest

from bot.app import PLNCoachBot
from tests.e2e.conftest import Community
from tests.e2e.helpers import EPHEMERAL, eventually, press_button, run_command, text_of


async def _share(community: Community, user_id: int, url: str, title: str, tags: str) -> None:
    await run_command(community, user_id, "share", {"url": url, "title": title, "tags": tags})


async def test_search_finds_by_words_and_tag_most_useful_first(
    coach: PLNCoachBot, community: Community
) -> None:
    ana, ben = community.ana.id, community.ben.id
    await _share(community, ana, "https://example.org/frac", "Fraction strips", "math, 4th-grade")
    await _share(community, ben, "https://example.org/dec", "Decimal games", "math")
    await _share(community, ben, "https://example.org/poem", "Poetry slam", "ela")
    # Ana's decimal game is found useful: it comes first among the math resources.
    [card] = [
        m
        for m in community.emulator.messages_in(community.general.id)
        if "Decimal games" in text_of(m) and m.interaction_id is None
    ]
    await press_button(community, card, ana)

    reply = await run_command(community, ana, "resources", {"tag": "math"})
    assert reply.flags & EPHEMERAL
    body = text_of(reply)
    assert "Poetry" not in body
    assert body.index("Decimal games") < body.index("Fraction strips")
    assert "useful to 1" in body

    found = await run_command(community, ben, "resources", {"query": "STRIPS"})
    assert "Fraction strips" in text_of(found)
    assert "Decimal" not in text_of(found)
    nothing = await run_command(community, ben, "resources", {"query": "100%_"})
    assert "Nothing shared matches" in text_of(nothing)


async def test_tag_autocomplete_offers_this_servers_tags(
    coach: PLNCoachBot, community: Community
) -> None:
    ana = community.ana.id
    await _share(community, ana, "https://example.org/1", "One", "math, maker")
    await _share(community, ana, "https://example.org/2", "Two", "math")
    choices = await community.emulator.autocomplete(
        community.guild.id, community.general.id, ana, "resources", {"tag": "ma"}, "tag"
    )
    assert [c["value"] for c in choices] == ["math", "maker"]
    assert choices[0]["name"] == "math (2)"


async def test_pages_turn_for_the_searcher_only(coach: PLNCoachBot, community: Community) -> None:
    ana, ben = community.ana.id, community.ben.id
    for number in range(7):
        await _share(community, ana, f"https://example.org/r{number}", f"Item {number}", "math")
    first = await run_command(community, ana, "resources", {"tag": "math"})
    assert "Page 1 of 2" in text_of(first)
    older = [b for row in first.components for b in row["components"]][1]

    # The answer is private: Discord lets nobody else press its buttons (and the bot checks too).
    with pytest.raises(PermissionError):
        await community.emulator.press_button(first.id, older["custom_id"], ben)
    assert "Page 1 of 2" in text_of(community.emulator.world.messages[first.id])

    await community.emulator.press_button(first.id, older["custom_id"], ana)

    def shown() -> str:
        return text_of(community.emulator.world.messages[first.id])

    await eventually(lambda: "Page 2 of 2" in shown(), what="the second page")
    assert "Item 0" in shown()  # the oldest, on the last page


@pytest.mark.no_cooldowns
async def test_a_page_of_long_resources_fits_in_one_embed(
    coach: PLNCoachBot, community: Community
) -> None:
    """Found writing the hostile-input fuzz (test_fuzz_commands): five shares with long titles,
    links and notes made a page longer than Discord's 6,000 characters for an embed, and
    /resources answered "something went wrong"."""
    for number in range(5):
        options = {
            "url": f"https://example.org/{number}/" + "a" * 2000,
            "title": "*" * 200,
            "note": "_" * 1000,
            "tags": "math",
        }
        await run_command(community, community.ana.id, "share", options)
    reply = await run_command(community, community.ben.id, "resources", {"tag": "math"})
    [embed] = reply.embeds
    assert len(embed["fields"]) == 5
    shown = [embed["title"], embed["footer"]["text"]]
    shown += [part for field in embed["fields"] for part in (field["name"], field["value"])]
    assert sum(len(part) for part in shown) <= 6000
    assert all(field["value"].endswith("…") for field in embed["fields"])
