"""What /share accepts and the friendly reasons it gives when it doesn't."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.errors import InvalidInput
from bot.services.share_input import MAX_TAGS, parse_share, parse_tags, url_key
from emulator.errors import FormErrors
from emulator.validation import validate_embeds


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
        ("https://exa\u200bmple.org", "invisible"),
        ("https://example.org/\u202eevil", "invisible"),
        ("https://exa_mple.org/page", "isn't a valid web address"),
        ("https://example.123/page", "isn't a valid web address"),
        ("https://-example.org/page", "isn't a valid web address"),
        ("https://xn--zz.org/page", "isn't a valid web address"),
        ("https://ｌｏｃａｌｈｏｓｔ/plan", "private address"),
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


# Links a member might paste, each a way a stored link could end up refused by Discord.
TRICKY_LINKS = [
    "HTTPS://EXAMPLE.ORG/caps",
    "Http://Example.Org:443/A?B=C#D",
    "https://münchen.de/straße?stadt=köln#über",
    "https://例え.jp/パス/ページ",
    "https://ｅｘａｍｐｌｅ．ｃｏｍ/ｐａｔｈ",
    "https://ΣΊΣΥΦΟΣ.gr/",
    "https://straße.de/",
    "https://XN--MNCHEN-3YA.DE/x",
    "https://example.org./trailing-dot",
    "https://example.org:0443/zero-padded-port",
    "https://example.org:/empty-port",
    "http://example.org:8080/other-port",
    "https://8.8.8.8/dns",
    "https://example.org/100%",
    "https://example.org/%zz%",
    "https://example.org/%%41",
    "https://example.org/already%20encoded%2fslash%7Etilde",
    'https://example.org/[brackets]{braces}|pipe\\backslash^caret`tick"quote<lt>gt',
    "https://example.org/emoji/🎓?q=✓#✓",
    "https://example.org/a#b#c",
    "https://example.org/a?b?c=d",
    "https://example.org/it's(fine)!*;:@,$+=",
    "https://example.org?no-path",
    "https://example.org#no-path",
    "HTTPS://EXAMPLE.ORG",
    "<https://Example.org/wrapped>",
    "https://example.org/" + "é" * 300,
    "https://exa\u200bmple.org",
    "https://xn--zz.org/",
    "https://[2606:4700::1111]/v6",
]
# What Discord's URL check has been seen to require, beyond the emulator's scheme/length check:
# ASCII only, no spaces, characters RFC 3986 allows, every % starting an escape, a dotted host.
_URL_CHARACTERS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-F]{2})")
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]+)$")


def _discord_would_render(url: str) -> list[str]:
    """Reasons Discord would refuse ``url`` as an embed's link; empty when it renders."""
    problems = []
    errors = FormErrors()
    validate_embeds(errors, [{"title": "t", "url": url}])
    if errors:
        problems.append(f"emulator: {errors.tree}")
    if not url.isascii() or not _URL_CHARACTERS.match(url) or _STRAY_PERCENT.search(url):
        problems.append("characters a URL can't carry")
    parts = urlsplit(url)
    if urlunsplit(parts) != url:
        problems.append("does not survive urlsplit/urlunsplit")
    if parts.scheme not in ("http", "https"):
        problems.append("scheme")
    host = parts.hostname or ""
    if not _HOST.match(host) and not re.fullmatch(r"[0-9.]+", host):
        problems.append(f"host {host!r}")
    return problems


@pytest.mark.parametrize("raw", TRICKY_LINKS)
def test_every_accepted_link_is_one_discord_renders(raw: str) -> None:
    try:
        url = parse_share(raw).url
    except InvalidInput:
        return  # refused with a reason: nothing stored, nothing to render
    assert _discord_would_render(url) == [], url
    assert parse_share(url).url == url, "storing twice must not encode twice"


def _refused(raw: str) -> bool:
    try:
        parse_share(raw)
    except InvalidInput:
        return True
    return False


def test_tricky_links_are_kept_rather_than_refused() -> None:
    refused = [raw for raw in TRICKY_LINKS if _refused(raw)]
    assert refused == [
        "https://exa\u200bmple.org",  # an invisible character: likely a copy-paste accident
        "https://xn--zz.org/",  # not valid punycode: no such website
        "https://[2606:4700::1111]/v6",  # an address with no name, refused as before
    ]


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("HTTPS://EXAMPLE.ORG/caps", "https://example.org/caps"),
        ("Http://Example.Org:443/A?B=C#D", "http://example.org:443/A?B=C#D"),
        ("https://Example.org:443/Lesson", "https://example.org/Lesson"),
        ("https://münchen.de/straße", "https://xn--mnchen-3ya.de/stra%C3%9Fe"),
        ("https://straße.de/", "https://xn--strae-oqa.de/"),
        ("https://ｅｘａｍｐｌｅ．ｃｏｍ/", "https://example.com/"),
        ("https://example.org/100%", "https://example.org/100%25"),
        ("https://example.org/a%20b%2fc%7e", "https://example.org/a%20b%2Fc~"),
        ("https://example.org/a b".replace(" ", "%20"), "https://example.org/a%20b"),
        ("https://example.org/{x}|y", "https://example.org/%7Bx%7D%7Cy"),
        ("https://example.org/?q=ä#é", "https://example.org/?q=%C3%A4#%C3%A9"),
    ],
)
def test_links_are_stored_the_way_browsers_send_them(raw: str, stored: str) -> None:
    assert parse_share(raw).url == stored


def test_a_link_that_grows_too_long_once_encoded_is_refused() -> None:
    with pytest.raises(InvalidInput, match="browsers send it"):
        parse_share("https://example.org/" + "é" * 1000)


def test_only_scheme_and_host_ignore_letter_case() -> None:
    assert url_key("HTTPS://EXAMPLE.ORG/a") == url_key("https://example.org/a")
    assert url_key("https://example.org/A") != url_key("https://example.org/a")
    assert url_key("https://example.org/a?Q=1") != url_key("https://example.org/a?q=1")
    assert (
        parse_share("HTTPS://EXAMPLE.ORG/a").url_hash
        == parse_share("https://example.org/a").url_hash
    )


def test_a_link_written_in_different_encodings_has_one_key() -> None:
    same = [
        "https://münchen.de/straße",
        "https://MÜNCHEN.de/stra%c3%9fe",
        "https://xn--mnchen-3ya.de/stra%C3%9Fe",
    ]
    assert len({url_key(v) for v in same}) == 1
    assert url_key("https://example.org/%7Euser") == url_key("https://example.org/~user")
    assert url_key("https://example.org/a%2Fb") != url_key("https://example.org/a/b")


def test_tags_are_normalised_and_deduplicated() -> None:
    assert parse_tags("Math, math , #MATH,,  Reading Workshop") == ("math", "reading-workshop")
    assert parse_tags(None) == ()
    assert parse_tags(" , ") == ()


def test_more_than_five_tags_is_refused() -> None:
    with pytest.raises(InvalidInput, match=str(MAX_TAGS)):
        parse_tags("a,b,c,d,e,f")


@pytest.mark.parametrize("tags", ["x" * 33, "math!", "<@&123>", "a/b", "`code`", "q&a"])
def test_bad_tags_are_refused(tags: str) -> None:
    with pytest.raises(InvalidInput):
        parse_tags(tags)


def test_the_tag_rule_says_exactly_what_tags_can_have() -> None:
    """Each character kind the refusal names is accepted, so the message never misleads."""
    with pytest.raises(InvalidInput) as caught:
        parse_tags("math!")
    message = caught.value.message
    for kind, tag in [
        ("letters", "français"),
        ("numbers", "2024"),
        ("dashes (-)", "7th-grade"),
        ("dots (.)", "ela.7"),
        ("plus signs (+)", "c++"),
        ("underscores (_)", "k_12"),
    ]:
        assert kind in message
        assert parse_tags(tag) == (tag,)


def test_over_long_title_and_note_are_refused() -> None:
    with pytest.raises(InvalidInput, match="title"):
        parse_share("https://example.org", title="t" * 201)
    with pytest.raises(InvalidInput, match="note"):
        parse_share("https://example.org", note="n" * 1001)


def test_nul_characters_are_dropped_from_title_and_note() -> None:
    """PostgreSQL refuses NUL in text, and Discord's client lets a member type one (found by
    the hostile-input fuzz, tests/e2e/test_fuzz_commands.py)."""
    share = parse_share("https://example.org/", title="Frac\x00tions", note="\x00")
    assert share.title == "Fractions"
    assert share.note is None
    with pytest.raises(InvalidInput):
        parse_share("https://example.org/\x00")  # a link can't hold one: refused, as before
