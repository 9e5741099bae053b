"""Checking and normalising what a member typed into /share, before anything is stored."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qsl, quote, urlencode, urlsplit, urlunsplit

from bot.errors import InvalidInput
from bot.services.typed_text import storable

MAX_URL_LENGTH = 2048
MAX_TITLE_LENGTH = 200
MAX_NOTE_LENGTH = 1000
MAX_TAGS = 5
MAX_TAG_LENGTH = 32
MAX_TAGS_INPUT_LENGTH = 200

# Letters and digits of any language, and _ + . - : enough for "7th-grade", "c++", "ela.7", "k_12".
_TAG_CHARACTERS = re.compile(r"^[\w+.-]+$")
_WHITESPACE = re.compile(r"\s+")
# Query parameters that only say where a click came from; two links differing in them are one.
_TRACKING_PARAMETERS = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")
# A host name as DNS and Discord's URL check take it: ASCII labels of letters, digits and inner
# hyphens, ending in a top-level domain of letters (or its punycode form).
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TOP_LEVEL_DOMAIN = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_IDEOGRAPHIC_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
# What may stay as typed in a path, query or fragment (RFC 3986); everything else is %-encoded.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = _PATH_SAFE + "?"
_PERCENT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


@dataclass(frozen=True, slots=True)
class ShareInput:
    url: str
    url_hash: str
    title: str | None
    note: str | None
    tags: tuple[str, ...]


def _may_be_an_address(host: str) -> bool:
    """False for a host that ``ipaddress`` would refuse anyway: a name (letters or hyphens
    and no ``:``). Saves raising and catching its ValueError twice for every link."""
    return ":" in host or host.replace(".", "").isdigit()


def _is_private_host(host: str) -> bool:
    if host == "localhost" or host.endswith(_PRIVATE_SUFFIXES):
        return True
    if not _may_be_an_address(host):
        return False
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False  # a name, not an address


def _has_invisible(url: str) -> bool:
    # Printable ASCII without spaces holds none (ASCII has no Cf or Cs characters).
    if url.isascii() and url.isprintable() and " " not in url:
        return False
    return any(_is_invisible(ch) for ch in url)


def _is_invisible(ch: str) -> bool:
    """Spaces, control and formatting characters (zero-width, bidi overrides), lone surrogates."""
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs")


def _check_length(url: str, *, encoded: bool) -> None:
    if len(url) > MAX_URL_LENGTH:
        written = "Written the way browsers send it, that link" if encoded else "That link"
        raise InvalidInput(
            f"{written} is {len(url):,} characters long; links can be at most "
            f"{MAX_URL_LENGTH:,}. Try a shorter link to the same page."
        )


def _folded_host(hostname: str) -> str:
    """The host as browsers read it: full-width letters and dots folded, lower case.

    NFKC folds full-width forms; lower() (not casefold) keeps "ß" as browsers do.
    """
    host = unicodedata.normalize("NFKC", hostname.translate(_IDEOGRAPHIC_DOTS)).lower()
    return host.rstrip(".")


def _ascii_label(label: str) -> str:
    """An internationalised label in its punycode form, the form browsers send."""
    return label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")


def _is_punycode(label: str) -> bool:
    try:
        label.removeprefix("xn--").encode("ascii").decode("punycode")
    except UnicodeError:
        return False
    return True


def _ascii_host(host: str) -> str:
    """A folded host as Discord and DNS accept it; a friendly refusal when it can't be one."""
    if _may_be_an_address(host):
        try:
            return str(ipaddress.ip_address(host))
        except ValueError:
            pass  # a name, not an address
    labels = [_ascii_label(label) for label in host.split(".")]
    well_formed = (
        all(_HOST_LABEL.match(label) for label in labels)
        and _TOP_LEVEL_DOMAIN.match(labels[-1]) is not None
        and all(_is_punycode(label) for label in labels if label.startswith("xn--"))
    )
    if not well_formed or len(".".join(labels)) > 253:
        raise InvalidInput(
            f"The website name `{host}` isn't a valid web address. Check the link for typos."
        )
    return ".".join(labels)


def _tidy_escape(match: re.Match[str]) -> str:
    """``%7e`` -> ``~`` and ``%2f`` -> ``%2F``: RFC 3986's equivalent forms, written one way."""
    char = chr(int(match[1], 16))
    return char if char in _UNRESERVED else match[0].upper()


def _percent_encoded(text: str, safe: str) -> str:
    """Characters a URL can't carry (non-ASCII, quotes, brackets...) as %XX, once only.

    Existing ``%XX`` escapes are kept; a ``%`` that starts no escape is itself encoded.
    """
    text = _STRAY_PERCENT.sub("%25", text)
    return _PERCENT_ESCAPE.sub(_tidy_escape, quote(text, safe=safe))


def _split(url: str) -> tuple[SplitResult, int | None]:
    """The link's parts and port; a friendly refusal when Python can't read them."""
    try:
        parts = urlsplit(url)
        return parts, parts.port
    except ValueError:
        raise InvalidInput(
            "That link has an invalid port number or website name. Check it for typos."
        ) from None


def _normalised_url(url: str) -> str:
    """The one way of writing ``url`` that Discord accepts as an embed link.

    Discord refuses e.g. ``HTTPS://`` and raw non-ASCII ("Not a well formed URL"), so the
    scheme and host are lower-cased, the host is written in punycode, default ports are dropped
    and what follows the host is %-encoded. Path, query and fragment keep their letter case.
    """
    parts, port = _split(url)
    scheme = parts.scheme.lower()
    host = _ascii_host(_folded_host(parts.hostname or ""))
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    return urlunsplit(
        (
            scheme,
            netloc,
            _percent_encoded(parts.path, _PATH_SAFE),
            _percent_encoded(parts.query, _QUERY_SAFE),
            _percent_encoded(parts.fragment, _QUERY_SAFE),
        )
    )


def _clean_url(raw: str) -> str:
    url = raw.strip()
    if url.startswith("<") and url.endswith(">"):  # Discord's "no preview" link syntax
        url = url[1:-1].strip()
    if not url:
        raise InvalidInput("Please give a link to share, starting with https://")
    _check_length(url, encoded=False)
    if _has_invisible(url):
        raise InvalidInput(
            "That link contains spaces or invisible characters. "
            "Paste the address exactly as it appears."
        )
    parts, _ = _split(url)
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise InvalidInput(
            "Only web links can be shared: the address should start with https:// or http://"
        )
    host = _folded_host(parts.hostname or "")
    if _is_private_host(host):
        raise InvalidInput(
            "That link points to a private address (like localhost or a home network) that "
            "colleagues can't open. Share a public link instead."
        )
    if "." not in host.strip("."):
        raise InvalidInput("That link has no website name in it (like https://example.org/page).")
    if "@" in parts.netloc:
        raise InvalidInput(
            "That link carries a username or password. Remove the part before `@` and try again."
        )
    normalised = _normalised_url(url)
    _check_length(normalised, encoded=True)
    return normalised


def url_key(url: str) -> str:
    """The form of a link used to spot the same resource shared twice.

    Scheme and host ignore letter case and encoding (punycode or not); the path and query keep
    their letter case. Ignored: the #fragment, tracking parameters (utm_*, fbclid, gclid, mc_cid,
    mc_eid), a default port, a trailing slash, and how the path and query are %-encoded.
    """
    parts = urlsplit(_normalised_url(url))
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
    text = storable(raw).strip()
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
                f"The tag `{tag}` has characters tags can't use. Tags can have letters, numbers, "
                "dashes (-), dots (.), plus signs (+) and underscores (_), separated by commas "
                "(e.g. `math, 7th-grade, c++`)."
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
