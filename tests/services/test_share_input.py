"""What /share accepts and the friendly reasons it gives when it doesn't."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput
from bot.services.share_input import MAX_TAGS, parse_share, parse_tags, url_key


def test_a_plain_link_with_title_note_and_tags_is_accepted() -> None:
    share = parse_share(
        " https://example.org/fractions ",
        "Fractions  warm-up",
        " Works in 10 min ",
        "Math, #7th grade",
    )
    assert share.url == "https://example.org/fractions"
    assert share.title == "Fractions warm-up"
    assert share.note == "Works in 10 min"
    assert share.tags == ("math", "7th-grade")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("example.org/page", "https://"),
        ("ftp://example.org/file", "https://"),
        ("javascript:alert(1)", "https://"),
        ("https://", "website name"),
        ("https://fractions", "website name"),
        ("https://exa mple.org", "spaces"),
        ("https://user:pw@example.org", "password"),
        ("https://example.org:99999/", "port"),
        ("https://localhost/plan", "private address"),
        ("http://127.0.0.1:8000/plan", "private address"),
        ("http://192.168.1.20/plan", "private address"),
        ("http://[::1]/plan", "private address"),
        ("https://nas.local/plan", "private address"),
        ("   ", "link"),
        ("https://example.org/" + "a" * 2048, "2,048"),
    ],
)
def test_bad_links_are_refused_with_a_reason(url: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_share(url)
    assert reason in caught.value.message


def test_link_in_angle_brackets_is_unwrapped() -> None:
    assert parse_share("<https://example.org/a>").url == "https://example.org/a"


def test_a_link_of_exactly_2048_characters_is_fine() -> None:
    url = "https://example.org/" + "a" * (2048 - len("https://example.org/"))
    assert parse_share(url).url == url


def test_same_resource_written_differently_has_the_same_key() -> None:
    variants = [
        "https://Example.org/lesson/?utm_source=news",
        "https://example.org:443/lesson",
        "https://example.org/lesson#part-2",
        "HTTPS://EXAMPLE.ORG/lesson/",
    ]
    assert {url_key(v) for v in variants} == {"https://example.org/lesson"}
    assert url_key("https://example.org/lesson?id=2") != url_key("https://example.org/lesson?id=3")


def test_tags_are_normalised_and_deduplicated() -> None:
    assert parse_tags("Math, math , #MATH,,  Reading Workshop") == ("math", "reading-workshop")
    assert parse_tags(None) == ()
    assert parse_tags(" , ") == ()


def test_more_than_five_tags_is_refused() -> None:
    with pytest.raises(InvalidInput, match=str(MAX_TAGS)):
        parse_tags("a,b,c,d,e,f")


@pytest.mark.parametrize("tags", ["x" * 33, "math!", "<@&123>"])
def test_bad_tags_are_refused(tags: str) -> None:
    with pytest.raises(InvalidInput):
        parse_tags(tags)


def test_over_long_title_and_note_are_refused() -> None:
    with pytest.raises(InvalidInput, match="title"):
        parse_share("https://example.org", title="t" * 201)
    with pytest.raises(InvalidInput, match="note"):
        parse_share("https://example.org", note="n" * 1001)
