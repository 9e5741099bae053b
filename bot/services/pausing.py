"""A member's tracking pause (``/privacy pause``): while it lasts, nothing new about them is stored.

Three places honour it. Passive tracking drops every signal by a paused member, and every signal
whose other side is one (a reply to them, a reaction to their message or card, an answer in
their question's thread): the whole event goes, so no tie or conversation with them appears.
It asks the in-memory ``PausedMembers`` (no query per event). Commands that would record
something about a paused member refuse with ``TrackingPaused`` and change nothing. Suggestions,
question routing, automatic challenge credit and nudges leave paused members out, in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BigInteger, ColumnElement, bindparam, exists, select
from sqlalchemy.orm import InstrumentedAttribute

from bot.db import MemberPreferences
from bot.db.prepared import Prepared
from bot.db.statements import PerDialect, Rows, is_one_of, table_of
from bot.errors import UserFacingError

PAUSED_YOU = (
    "Tracking is paused for you in this server, so I didn't record that. "
    "Use `/privacy resume` to switch it back on."
)
PAUSED_THEM = (
    "That member paused tracking in this server, so I didn't record that. Nothing was changed."
)


class TrackingPaused(UserFacingError):
    """The action would store something about a member who paused tracking."""


class PausedMembers:
    """The (server, user) pairs paused, in memory, for passive tracking's hot path.

    Loaded at start-up and changed by /privacy pause and resume. Read from the ingest's writer
    thread: the set is replaced whole, never changed in place, so a reader always sees one
    consistent set. A server's gateway events and its members' interactions reach the same
    process (the shard that owns the server), so the process that handled a pause is the one
    that drops that member's events; a pause made elsewhere (another process) takes effect there
    at its next start, while commands, suggestions and routing check the database itself.
    """

    def __init__(self, pairs: Iterable[tuple[int, int]] = ()) -> None:
        self._pairs: frozenset[tuple[int, int]] = frozenset(pairs)

    def __contains__(self, pair: object) -> bool:
        return pair in self._pairs

    def __len__(self) -> int:
        return len(self._pairs)

    def replace(self, pairs: Iterable[tuple[int, int]]) -> None:
        self._pairs = frozenset(pairs)

    def add(self, server_id: int, user_id: int) -> None:
        self._pairs = self._pairs | {(server_id, user_id)}

    def discard(self, server_id: int, user_id: int) -> None:
        self._pairs = self._pairs - {(server_id, user_id)}

    def discard_user(self, user_id: int) -> None:
        self._pairs = frozenset(pair for pair in self._pairs if pair[1] != user_id)

    def discard_server(self, server_id: int) -> None:
        self._pairs = frozenset(pair for pair in self._pairs if pair[0] != server_id)


_PREFERENCES = table_of(MemberPreferences)


def not_paused(
    server_id: ColumnElement[int] | InstrumentedAttribute[int],
    user_id: ColumnElement[int] | InstrumentedAttribute[int],
) -> ColumnElement[bool]:
    """A WHERE clause: the member given by these columns has not paused tracking.

    Written on the Core table, so statements built once on Core tables stay Core.
    """
    return ~exists().where(
        _PREFERENCES.c.server_id == server_id,
        _PREFERENCES.c.user_id == user_id,
        _PREFERENCES.c.paused_at.is_not(None),
    )


_PAUSED_AMONG = Prepared(
    PerDialect(
        lambda insert: select(_PREFERENCES.c.user_id).where(
            _PREFERENCES.c.server_id == bindparam("server_id"),
            is_one_of(_PREFERENCES.c.user_id, "user_ids", insert, BigInteger()),
            _PREFERENCES.c.paused_at.is_not(None),
        )
    )
)


async def paused_among(session: Rows, server_id: int, user_ids: Iterable[int]) -> set[int]:
    wanted = sorted(set(user_ids))
    if not wanted:
        return set()
    rows = await _PAUSED_AMONG.execute(session, {"server_id": server_id, "user_ids": wanted})
    return set(rows.scalars())


async def refuse_if_paused(
    session: Rows, server_id: int, user_id: int, *, others: Iterable[int] = ()
) -> None:
    """Raise TrackingPaused if the acting member, or a member the action is about, paused."""
    others = set(others) - {user_id}
    paused = await paused_among(session, server_id, {user_id, *others})
    if user_id in paused:
        raise TrackingPaused(PAUSED_YOU)
    if paused:
        raise TrackingPaused(PAUSED_THEM)
