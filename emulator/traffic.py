"""What a bot asked of the REST API and what it made, summed up for a process outside.

A benchmark in another process cannot read ``DiscordEmulator.requests`` or the world directly,
and thousands of raw records are more than it needs: it wants how many requests one bot made in
a time window, how many were answered 429 (the bot's global limit or a route's bucket), and the
messages the bot posted with the markers they carry. Times are ``time.monotonic()`` (shared by
the processes of one machine), message times are wall-clock seconds since the epoch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from .rest import RecordedRequest
from .state import Message, Payload
from .world import World


def request_counts(
    requests: Iterable[RecordedRequest],
    *,
    application_id: int | None = None,
    since: float | None = None,
    until: float | None = None,
) -> dict[str, Any]:
    """Requests answered in ``[since, until]`` (monotonic), of one bot if ``application_id``."""
    statuses: Counter[str] = Counter()
    routes: Counter[str] = Counter()
    scopes: Counter[str] = Counter()
    first = last = None
    total = 0
    for request in requests:
        if application_id is not None and request.application_id != application_id:
            continue
        if (since is not None and request.at < since) or (until is not None and request.at > until):
            continue
        total += 1
        statuses[str(request.status)] += 1
        routes[f"{request.method} {request.route}"] += 1
        if request.rate_limit_scope is not None:
            scopes[request.rate_limit_scope] += 1
        first = request.at if first is None else min(first, request.at)
        last = request.at if last is None else max(last, request.at)
    return {
        "requests": total,
        "rate_limited": statuses["429"],
        "rate_limited_global": scopes["global"],
        "rate_limited_route": scopes["route"],
        "by_status": dict(statuses),
        "by_route": dict(routes.most_common()),
        "first_at": first,
        "last_at": last,
    }


def messages_by(world: World, author_id: int, *, after: int = 0) -> list[dict[str, Any]]:
    """Every message ``author_id`` posted with an id above ``after`` (deleted ones flagged)."""
    found = [
        message
        for message in world.messages.values()
        if message.author_id == author_id and message.id > after
    ]
    found.sort(key=lambda message: message.id)
    return [
        {
            "id": str(message.id),
            "channel_id": str(message.channel_id),
            "guild_id": None if message.guild_id is None else str(message.guild_id),
            "created_at": message.created_at.timestamp(),
            "deleted": message.deleted,
            "nonce": message.nonce,
            "markers": list(markers_of(message)),
        }
        for message in found
    ]


def markers_of(message: Message) -> Iterator[str]:
    """What tells one post from another: its components' custom ids and its embeds' footers."""
    yield from _custom_ids(message.components)
    for embed in message.embeds:
        footer = embed.get("footer")
        if isinstance(footer, dict) and footer.get("text"):
            yield str(footer["text"])


def _custom_ids(components: list[Payload]) -> Iterator[str]:
    for component in components:
        custom_id = component.get("custom_id")
        if custom_id:
            yield str(custom_id)
        children = component.get("components")
        if isinstance(children, list):
            yield from _custom_ids(children)
