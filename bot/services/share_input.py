"""Checking and normalising what a member typed into /share, before anything is stored."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.errors import InvalidInput

MAX_URL_LENGTH = 2048
MAX_TITLE_LENGTH = 200
MAX_NOTE_LENGTH = 1000
MAX_TAGS = 5
MAX_TAG_LENGTH = 32
MAX_TAGS_INPUT_LENGTH = 200

_TAG_CHARACTERS = re.compile(r"^[\w+.-]+$")
_WHITESPACE = re.compile(r"\s+")
# Query parameters that only say where a click came from; two links differing in them are one.
_TRACKING_PARAMETERS = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


@dataclass(frozen=True, slots=True)
class ShareInput:
    url: str
    url_hash: str
    title: str | None
    note: str | None
    tags: tuple[str, ...]


def _is_private_host(host: str) -> bool:
    if host == "localhost" or host.endswith(_PRIVATE_SUFFIXES):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False  # a name, not an address


def _clean_url(raw: str) -> str:
    url = raw.strip()
    if url.startswith("<") and url.endswith(">"):  # Discord's "no preview" link syntax
        url = url[1:-1].strip()
    if not url:
        raise InvalidInput("Please give a link to share, starting with https://")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(
            f"That link is {len(url):,} characters long; links can be at most "
            f"{MAX_URL_LENGTH:,}. Try a shorter link to the same page."
        )
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise InvalidInput("That link contains spaces. Paste the address exactly as it appears.")
    parts = urlsplit(url)
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise InvalidInput(
            "Only web links can be shared: the address should start with https:// or http://"
        )
    host = parts.hostname or ""
    if _is_private_host(host):
        raise InvalidInput(
            "That link points to a private address (like localhost or a home network) that "
            "colleagues can't open. Share a public link instead."
        )
    if "." not in host.strip("."):
        raise InvalidInput("That link has no website name in it (like https://example.org/page).")
    if parts.username or parts.password:
        raise InvalidInput(
            "That link carries a username or password. Remove the part before `@` and try again."
        )
    try:
        _ = parts.port
    except ValueError:
        raise InvalidInput("That link has an invalid port number.") from None
    return url


def url_key(url: str) -> str:
    """The form of a link used to spot the same resource shared twice."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/")
    query = urlencode(
        [
            (key, value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
            if not key.lower().startswith(_TRACKING_PARAMETERS)
        ]
    )
    return urlunsplit((scheme, netloc, path, query, ""))


def _clean_text(raw: str | None, *, field: str, limit: int) -> str | None:
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    if len(text) > limit:
        raise InvalidInput(
            f"The {field} is {len(text):,} characters; please keep it to {limit:,} or fewer."
        )
    return text


def parse_tags(raw: str | None) -> tuple[str, ...]:
    """``"Math, #7th grade, math"`` -> ``("math", "7th-grade")``."""
    if raw is None or not raw.strip():
        return ()
    if len(raw) > MAX_TAGS_INPUT_LENGTH:
        raise InvalidInput(f"Tags can take at most {MAX_TAGS_INPUT_LENGTH} characters in all.")
    tags: list[str] = []
    for piece in raw.split(","):
        tag = _WHITESPACE.sub("-", piece.strip().lstrip("#").strip()).casefold()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise InvalidInput(
                f"The tag `{tag[:MAX_TAG_LENGTH]}…` is too long; each tag can have at most "
                f"{MAX_TAG_LENGTH} characters."
            )
        if not _TAG_CHARACTERS.match(tag):
            raise InvalidInput(
                f"The tag `{tag}` has characters tags can't use. Use letters, numbers "
                "and dashes, separated by commas (e.g. `math, 7th-grade`)."
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise InvalidInput(
            f"That's {len(tags)} tags; a share can have at most {MAX_TAGS}. "
            "Keep the most useful ones."
        )
    return tuple(tags)


def parse_share(
    url: str, title: str | None = None, note: str | None = None, tags: str | None = None
) -> ShareInput:
    """Validate everything first, so a bad value anywhere stores nothing."""
    clean_url = _clean_url(url)
    clean_title = _clean_text(title, field="title", limit=MAX_TITLE_LENGTH)
    if clean_title is not None:
        clean_title = _WHITESPACE.sub(" ", clean_title)
    return ShareInput(
        url=clean_url,
        url_hash=hashlib.sha256(url_key(clean_url).encode()).hexdigest(),
        title=clean_title,
        note=_clean_text(note, field="note", limit=MAX_NOTE_LENGTH),
        tags=parse_tags(tags),
    )
