"""Member-typed text (names, titles, tags, notes) shown as typed, whatever Discord would render.

Discord renders markdown in message content and in embed titles, descriptions and fields: a
nickname ``[Ana](https://evil.example)`` would become a link, ``@everyone`` a mention, ``# hi`` a
heading. Its markdown (simple-markdown based) drops a backslash placed before any character
that is not a letter, digit or space, so escaping that way is invisible once rendered.

Web addresses get no backslashes: Discord turns ``https://...`` into a link before looking for
markdown inside it, so a backslash there would show up and break the address. Instead their
scheme is lower-cased (so Discord surely links them) and the characters a web address can't
contain (brackets, quotes, pipes...) are %-encoded, which leaves no ``[`` anywhere to start a
masked link.

Not for text inside code spans: Discord shows backslashes there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal, NamedTuple

ELLIPSIS = "…"

# Discord's autolinks: <scheme://...> and bare addresses; a bare one never ends in punctuation.
_WEB_ADDRESS = re.compile(
    r"<(?:https?|steam)://[^\s>]+>|(?:https?|steam)://[^\s<]+[^\s<.,:;\"')\]]", re.IGNORECASE
)
_SCHEME = re.compile(r"([a-z]+)://", re.IGNORECASE)
_NOT_IN_ADDRESSES = re.compile(r"[\"<>\[\\\]^`{|}]")
_INLINE_MARKUP = re.compile(r"[\\*_~|`\[<]|@(?=everyone|here)", re.IGNORECASE)
_LINE_MARKER = re.compile(r"^([ \t]*)(?:([#>+-])|(\d+)(\.))", re.MULTILINE)
_ESCAPE = re.compile(r"\\([^0-9A-Za-z\s])")
# Bidirectional embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069): typed in a
# tag or title they would reverse the rest of the bot's sentence, so they are not shown.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# A masked link as Discord's markdown reads it: [text](target "optional title"). The text may
# hold bracket pairs and span lines; the target may sit in <...>, carry \-escapes and (a b)
# groups. Each part stops at the first character it can't contain, so a hostile note costs at
# most quadratic time. Targets with brackets or unbalanced parentheses are not recognised; their
# text stays escaped and their address visible.
_MASKED_LINK = re.compile(
    r"""\[(?P<text>(?:\[[^\]]*\]|[^\[\]]|\](?=[^\[]*\]))*)\]
    \(\s*<?
    (?P<target>(?:[^\s\\()<>\[\]]|\\.|\([^()\s]*\))*+)
    >?(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)""",
    re.VERBOSE,
)


class _Piece(NamedTuple):
    kind: Literal["text", "address", "link"]
    text: str
    target: str = ""


def _pieces(text: str, *, links: bool) -> Iterator[_Piece]:
    """Split ``text`` the way Discord reads it: escapes, then addresses, then masked links."""
    start = position = 0
    while position < len(text):
        char = text[position]
        if char == "\\" and _ESCAPE.match(text, position):
            position += 2  # an escaped character never starts an address or a link
            continue
        address = _WEB_ADDRESS.match(text, position) if char in "<hHsS" else None
        link = _MASKED_LINK.match(text, position) if links and char == "[" else None
        found = address or link
        if found is None:
            position += 1
            continue
        if start < position:
            yield _Piece("text", text[start:position])
        if address:
            yield _Piece("address", address[0])
        else:
            yield _Piece("link", found["text"], found["target"])
        start = position = found.end()
    if start < len(text):
        yield _Piece("text", text[start:])


def _escaped_text(text: str) -> str:
    """Backslash before every character that could start markdown, a link or a mention."""
    return _INLINE_MARKUP.sub(r"\\\g<0>", text)


def _address(address: str) -> str:
    """A web address as Discord will link it: lower-case scheme, invalid characters %-encoded."""
    inner = address[1:-1] if address.startswith("<") else address
    scheme = _SCHEME.match(inner)
    if scheme:
        inner = scheme[1].lower() + inner[len(scheme[1]) :]
    inner = _NOT_IN_ADDRESSES.sub(lambda m: f"%{ord(m[0]):02X}", inner)
    return f"<{inner}>" if address.startswith("<") else inner


def _line_starts_escaped(text: str) -> str:
    """Headings, subtext (``-#``), quotes and lists only start a line; escape their marker."""

    def escape(match: re.Match[str]) -> str:
        indent, marker, number, dot = match.groups()
        return f"{indent}\\{marker}" if marker else f"{indent}{number}\\{dot}"

    return _LINE_MARKER.sub(escape, text)


def _joined(pieces: Iterator[_Piece]) -> str:
    shown = []
    for piece in pieces:
        if piece.kind == "address":
            shown.append(_address(piece.text))
        elif piece.kind == "link":
            shown.append(_revealed(piece.text, piece.target))
        else:
            shown.append(_escaped_text(piece.text))
    return "".join(shown)


def _revealed(text: str, target: str) -> str:
    """``[text](target)`` as ``text (target)``: the member sees where the link leads."""
    where = _joined(_pieces(_ESCAPE.sub(r"\1", target), links=False))
    label = _joined(_pieces(text, links=True)).strip()
    return f"{label} ({where})" if label else where


def plain(text: str, *, limit: int | None = None) -> str:
    """``text`` shown exactly as typed: no markdown, mention or masked link takes effect.

    With ``limit``, the result fits in that many characters (Discord counts the backslashes),
    shortened with an ellipsis when needed, so a long title never makes a message invalid.
    """
    text = _BIDI_CONTROLS.sub("", text)
    shown = _line_starts_escaped(_joined(_pieces(text, links=False)))
    if limit is None or len(shown) <= limit:
        return shown
    return _shortened(text, limit)


def _shortened(text: str, limit: int) -> str:
    """The longest start of ``text`` that, shown and followed by an ellipsis, fits ``limit``."""
    fits, too_long = 0, len(text)
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if len(plain(text[:middle].rstrip())) < limit:
            fits = middle
        else:
            too_long = middle
    return plain(text[:fits].rstrip()) + ELLIPSIS if limit > 0 else ""


def note(text: str) -> str:
    """A share's note for an embed: every masked link shows its address, the rest as typed.

    Discord renders ``[text](https://...)`` in embeds, so a note could hide where a link
    leads; each one, in any form Discord accepts, becomes ``text (https://...)``.
    """
    return _line_starts_escaped(_joined(_pieces(text, links=True)))
