"""Member-typed text shown safely: what Discord would render from plain() and note() output.

The checkers below model Discord's markdown (simple-markdown rules) independently of the code
under test, and err towards finding too much: a masked link is looked for at every ``[`` that
no backslash escapes, even where Discord would have read an address or code first.
"""

from __future__ import annotations

import re
import time

import pytest

from cogs._safe_text import ELLIPSIS, note, plain

# Discord drops a backslash before any character that is not a letter, digit or whitespace.
_ESCAPE_RULE = re.compile(r"\\([^0-9A-Za-z\s])")
# simple-markdown's link rule: [text](target "title"), text with nested brackets, target lazy.
_LINK_RULE = re.compile(
    r"\[((?:\[[^\]]*\]|[^\[\]]|\](?=[^\[]*\]))*)\]"
    r"\(\s*<?((?:\([^)]*\)|[^\s\\]|\\.)*?)>?(?:\s+['\"]([\s\S]*?)['\"])?\s*\)"
)
# Bare and <...> web addresses: Discord links them before reading markdown inside them.
_ADDRESS_RULE = re.compile(
    r"<https?://[^\s>]+>|(?:https?|steam)://[^\s<]+[^<.,:;\"')\]\s]", re.IGNORECASE
)
_INLINE_MARKUP = re.compile(r"[*_~|`\[<]|@(?:everyone|here)", re.IGNORECASE)
_LINE_MARKUP = re.compile(r"^[ \t]*(?:#|>|-|\+|\*|\d+\.)", re.MULTILINE)


def masked_links(markdown: str) -> list[tuple[str, str]]:
    """(text, target) of every masked link Discord could render from ``markdown``."""
    found, position = [], 0
    while position < len(markdown):
        if _ESCAPE_RULE.match(markdown, position):
            position += 2
            continue
        link = _LINK_RULE.match(markdown, position) if markdown[position] == "[" else None
        if link:
            found.append((link[1], link[2]))
        position += 1
    return found


def live_markup(markdown: str) -> list[str]:
    """Markup characters and mentions no backslash neutralises, outside web addresses."""
    live, position = [], 0
    while position < len(markdown):
        address = _ADDRESS_RULE.match(markdown, position)
        if address:
            position = address.end()
            continue
        if _ESCAPE_RULE.match(markdown, position):
            position += 2
            continue
        markup = _INLINE_MARKUP.match(markdown, position)
        if markup:
            live.append(markup[0])
        position += 1
    live.extend(m[0] for m in _LINE_MARKUP.finditer(markdown))
    return live


def as_read(markdown: str) -> str:
    """The text a member reads once Discord has dropped the escaping backslashes."""
    return _ESCAPE_RULE.sub(r"\1", markdown)


NAMES = ["Ana", "Ana María", "O'Brien", "José (math)", "Mr. T", "Zoë 🎓", "3rd grade", "c++"]

HOSTILE = [
    "[Ana](https://evil.example)",
    "[Ana\nB](https://evil.example)",
    "**x**",
    "*x*",
    "_x_",
    "__u__",
    "~~s~~",
    "||spoiler||",
    "`code`",
    "```block```",
    "# Heading",
    "## Heading",
    "### Heading",
    "-# subtext",
    "- item",
    "* item",
    "+ item",
    "  - nested",
    "1. item",
    "10. item",
    "> quote",
    ">>> quote",
    "@everyone",
    "@here",
    "@Everyone hi",
    "<@123456789012345678>",
    "<@!123456789012345678>",
    "<@&123456789012345678>",
    "<#123456789012345678>",
    "</share:123456789012345678>",
    "<t:1700000000:R>",
    "<:pln:123456789012345678>",
    "<id:customize>",
    "a\\*b*",
    "ends in \\",
    "\\",
    "\\\\[x](https://evil.example)",
    "x\n# y\n> z\n- w\n1. v",
    "nick_name_with_underscores",
]


@pytest.mark.parametrize("name", NAMES)
def test_ordinary_names_are_shown_unchanged(name: str) -> None:
    assert plain(name) == name


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_text_reads_as_typed_and_renders_nothing(text: str) -> None:
    shown = plain(text)
    assert as_read(shown) == text, "a visible backslash or a changed character"
    assert live_markup(shown) == []
    assert masked_links(shown) == []


def test_web_addresses_in_text_stay_clickable() -> None:
    shown = plain("Slides: https://example.org/a_b_c?x=*y* and <https://example.org/d_e>")
    assert "https://example.org/a_b_c?x=*y*" in shown
    assert "<https://example.org/d_e>" in shown
    assert plain("HTTPS://EXAMPLE.ORG/a") == "https://EXAMPLE.ORG/a"


def test_a_limit_fits_the_escaped_text_with_an_ellipsis() -> None:
    title = "_" * 200  # 400 characters once escaped, over an embed title's 256
    shown = plain(title, limit=256)
    assert 250 <= len(shown) <= 256
    assert shown.endswith(ELLIPSIS)
    assert as_read(shown) == "_" * (len(shown) // 2) + ELLIPSIS
    assert plain("Fractions", limit=256) == "Fractions"
    assert plain("a" * 300, limit=10) == "a" * 9 + ELLIPSIS


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("[lesson](https://x.org)", "lesson (https://x.org)"),
        ("[a [b] c](https://evil.example/x)", "a \\[b] c (https://evil.example/x)"),
        ('[t](https://evil.example "title")', "t (https://evil.example)"),
        ("[t](https://evil.example 'title')", "t (https://evil.example)"),
        ("[t](HTTPS://evil.example)", "t (https://evil.example)"),
        ("[t](<https://evil.example>)", "t (https://evil.example)"),
        ("[t](\n  https://evil.example\n)", "t (https://evil.example)"),
        ("[two\nlines](https://evil.example)", "two\nlines (https://evil.example)"),
        ("[t\\](https://evil.example)", "t\\\\ (https://evil.example)"),
        ("[t](https://evil\\.example/a\\_b)", "t (https://evil.example/a_b)"),
        ("[t](https://x.org/Fraction_(maths))", "t (https://x.org/Fraction_(maths))"),
        (
            "[[a](https://in.example)](https://out.example)",
            "a (https://in.example) (https://out.example)",
        ),
        ("[](https://evil.example)", "https://evil.example"),
        ("[t](javascript:alert(1))", "t (javascript:alert(1))"),
        ("**[t](https://evil.example)**", "\\*\\*t (https://evil.example)\\*\\*"),
        ("Read [this](https://x.org) @everyone", "Read this (https://x.org) \\@everyone"),
    ],
)
def test_masked_links_in_a_note_show_where_they_lead(typed: str, shown: str) -> None:
    assert note(typed) == shown


LINK_FORMS = [
    "[t](https://evil.example/x)",
    "[a [b] c](https://evil.example/x)",
    "[a [b [c] d] e](https://evil.example/x)",
    '[t](https://evil.example/x "title")',
    "[t](https://evil.example/x 'it\"s')",
    "[t](HTTPS://EVIL.EXAMPLE/x)",
    "[t](hTtP://evil.example/x)",
    "[t](<https://evil.example/x>)",
    '[t](<https://evil.example/x>  "t")',
    "[t]( \t\nhttps://evil.example/x\n )",
    "[multi\nline\ntext](https://evil.example/x)",
    "[t\\](https://evil.example/x)",
    "[t\\]](https://evil.example/x)",
    "[\\[t\\]](https://evil.example/x)",
    "[t](https://evil.example/x\\))",
    "[t](https://evil.example/x_(y))",
    "[t](https://evil.example/x(y)",
    "[t](https://evil.example/x](https://evil.example/y)",
    "[t](https://evil.example/[x](https://evil.example/y))",
    "[[a](https://evil.example/x)](https://evil.example/y)",
    "[t](https://evil.example/x)[u](https://evil.example/y)",
    "[https://good.example](https://evil.example/x)",
    "[](https://evil.example/x)",
    "![t](https://evil.example/x)",
    "[t](https://evil.example/x ",
    "[t](<https://evil.example/x)",
    "[t](https://evil.example/x>)",
]
CONTEXTS = ["{}", "see {} now", "# {}", "> {}", "- {}", "1. {}", "**{}**", "||{}||", "`{}`", "\\{}"]


def _visible_addresses(typed: str) -> list[str]:
    """Host and path of every web address in ``typed``: what must stay readable."""
    return re.findall(r"(?i)https?://([a-z.]+/[a-z]*)", typed)


@pytest.mark.parametrize("form", LINK_FORMS)
def test_no_note_can_hide_where_a_link_leads(form: str) -> None:
    for context in CONTEXTS:
        typed = context.format(form)
        shown = note(typed)
        assert masked_links(shown) == [], (typed, shown)
        assert live_markup(shown) == [], (typed, shown)
        read = as_read(shown).lower()
        for address in _visible_addresses(typed):
            assert address.lower() in read, (typed, shown)


def test_the_link_checker_finds_the_links_it_guards_against() -> None:
    """Without this, the test above would pass whatever note() returned."""
    hidden = [form for form in LINK_FORMS if not masked_links(form)]
    assert hidden == ["[t](https://evil.example/x "]


def test_hostile_notes_are_rendered_quickly() -> None:
    hostile = [
        "[" * 1000,
        "[" * 500 + "]" * 500,
        "[" * 300 + "](x" * 233,
        "[" * 300 + '](x "' * 140,
        "[" * 300 + "](" + "(" * 698,
        "[" * 300 + "]]" * 350,
        "[" * 250 + "](<" * 250,
        "[a](" + "()" * 498,
        "https://" * 125,
    ]
    for text in hostile:
        started = time.perf_counter()
        shown = note(text)
        assert time.perf_counter() - started < 0.5, text[:20]
        assert masked_links(shown) == []


def test_a_right_to_left_override_cannot_reverse_the_bots_sentence() -> None:
    shown = plain("math\u202e and more\u2066x\u2069")
    assert shown == "math and morex"
    assert "\u202e" not in plain("\u202e" * 50, limit=10)
