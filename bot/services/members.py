"""Who is acting: the server and member behind every command, kept up to date as they act."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    FromClause,
    String,
    and_,
    bindparam,
    exists,
    false,
    select,
    update,
)
from sqlalchemy.dialects import postgresql

from bot.db.models import Member, MemberPreferences, Server
from bot.db.prepared import Prepared
from bot.db.statements import InsertFactory, PerDialect, Rows, is_one_of, table_of
from bot.db.upsert import dialect_insert
from bot.services.pausing import PAUSED_THEM, PAUSED_YOU, TrackingPaused, not_paused

_SERVERS = table_of(Server)
_MEMBERS = table_of(Member)
_SETTINGS = (_SERVERS.c.shares_channel_id, _SERVERS.c.intros_channel_id, _SERVERS.c.asks_channel_id)
_PREFERENCES = table_of(MemberPreferences)


def _paused(member: Any) -> Any:
    """Whether ``member`` (a member id's column or bind parameter) paused tracking in the
    server of the statement's ``servers`` row (false for none)."""
    return exists().where(
        _PREFERENCES.c.server_id == _SERVERS.c.id,
        _PREFERENCES.c.user_id == member,
        _PREFERENCES.c.paused_at.is_not(None),
    )


def acting_server_columns(about: Any | None) -> list[Any]:
    """The ``servers`` row's name and settings, and whether the member acting (bind parameter
    ``user_id``) and ``about`` (one the action is about, if any: a column or a bind parameter)
    paused tracking: what ``settings_of`` reads, for a statement reading them with more.
    """
    return [
        _SERVERS.c.name.label("server_name"),
        *_SETTINGS,
        _paused(bindparam("user_id", type_=BigInteger())).label("paused"),
        (false() if about is None else _paused(about)).label("other_paused"),
    ]


# The server's row, and whether the member acting paused (nobody else's pause is asked).
_SERVER_ROW = Prepared(select(*acting_server_columns(None)).where(_SERVERS.c.id == bindparam("id")))


# Who of some members is still here and did not pause tracking (see ``active_among``).
_HERE_AMONG = Prepared(
    PerDialect(
        lambda insert: select(
            _MEMBERS.c.user_id, _MEMBERS.c.display_name, _MEMBERS.c.last_seen_at
        ).where(
            _MEMBERS.c.server_id == bindparam("server_id"),
            is_one_of(_MEMBERS.c.user_id, "ids", insert, BigInteger()),
            _MEMBERS.c.left_at.is_(None),
            not_paused(_MEMBERS.c.server_id, _MEMBERS.c.user_id),  # /privacy pause
        )
    )
)


def _server_upsert(insert: InsertFactory) -> Any:
    statement = insert(_SERVERS).values(id=bindparam("id"), name=bindparam("name"))
    return statement.on_conflict_do_update(
        index_elements=[_SERVERS.c.id], set_={"name": statement.excluded.name}
    ).returning(*_SETTINGS)


def actor_upsert(insert: InsertFactory) -> Any:
    """The member's row made or refreshed, from the values ``actor_values`` gives."""
    statement = insert(_MEMBERS).values(
        server_id=bindparam("server_id"),
        user_id=bindparam("user_id"),
        display_name=bindparam("display_name"),
        first_seen_at=bindparam("now"),
        last_seen_at=bindparam("now"),
    )
    return _refreshed_if_there(statement)


def actor_upsert_where(acting: FromClause) -> Any:
    """``actor_upsert`` on PostgreSQL, made only if ``acting`` (``server_as_known``) has a row."""
    given = [
        bindparam(name, type_=_MEMBERS.c[column].type)
        for name, column in (
            ("server_id", "server_id"),
            ("user_id", "user_id"),
            ("display_name", "display_name"),
            ("now", "first_seen_at"),
            ("now", "last_seen_at"),
        )
    ]
    columns = ["server_id", "user_id", "display_name", "first_seen_at", "last_seen_at"]
    statement = postgresql.insert(_MEMBERS).from_select(columns, select(*given).select_from(acting))
    return _refreshed_if_there(statement)


def _refreshed_if_there(statement: Any) -> Any:
    return statement.on_conflict_do_update(
        index_elements=[_MEMBERS.c.server_id, _MEMBERS.c.user_id],
        # Acting here means they are (back) in the server.
        set_={
            "display_name": statement.excluded.display_name,
            "last_seen_at": statement.excluded.last_seen_at,
            "left_at": None,
        },
    )


def server_as_known() -> Any:
    """The ``servers`` row, if it is as the caller knows it: the server (bind ``server_id``)
    under its current name (``server_name``), with the settings known (``known_<setting>``,
    from ``known_values``), and the member acting (``user_id``) has not paused tracking. Then
    ``settings_if_current`` would give the settings known and refuse no one.
    """
    return select(_SERVERS.c.id).where(
        and_(
            _SERVERS.c.id == bindparam("server_id", type_=BigInteger()),
            _SERVERS.c.name == bindparam("server_name", type_=String()),
            *(
                setting.is_not_distinct_from(bindparam(f"known_{setting.key}", type_=BigInteger()))
                for setting in _SETTINGS
            ),
            ~_paused(bindparam("user_id", type_=BigInteger())),
        )
    )


def known_values(actor: Actor, known: ServerSettings) -> dict[str, Any]:
    """The parameters of ``server_as_known`` besides the actor's (``actor_values``)."""
    return {
        "server_name": actor.server_name[:100],
        "known_shares_channel_id": known.shares_channel_id,
        "known_intros_channel_id": known.intros_channel_id,
        "known_asks_channel_id": known.asks_channel_id,
    }


_UPSERT_SERVER = Prepared(PerDialect(_server_upsert))
_UPSERT_ACTOR = Prepared(PerDialect(actor_upsert))


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """A server's admin-chosen settings, as read while touching its row."""

    shares_channel_id: int | None
    intros_channel_id: int | None = None
    asks_channel_id: int | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    """A member acting in a server, as plain values taken from the interaction."""

    server_id: int
    server_name: str
    user_id: int
    display_name: str


async def touch_actor(
    session: Rows, actor: Actor, now: datetime, *, unless_paused: bool = False
) -> ServerSettings:
    """Make sure the server and member rows exist and carry the current names.

    ``unless_paused``: first refuse (``TrackingPaused``) a member who paused tracking, checked
    in the statement that reads the server's row (on PostgreSQL a round trip less than asking
    separately; nothing is written for a paused member).
    """
    paused_check = actor.user_id if unless_paused else None
    settings = await touch_server(
        session, actor.server_id, actor.server_name, refuse_paused=paused_check
    )
    await _UPSERT_ACTOR.execute(session, actor_values(actor, now))
    return settings


def actor_values(actor: Actor, now: datetime) -> dict[str, Any]:
    """The parameters of ``actor_upsert``."""
    return {
        "server_id": actor.server_id,
        "user_id": actor.user_id,
        "display_name": actor.display_name[:100],
        "now": now,
    }


async def settings_if_current(session: Rows, actor: Actor) -> ServerSettings | None:
    """The server's settings when its row is there under its current name (None: it must be
    created or renamed first, as ``touch_server`` does); refuses a paused member as it does.

    For a unit that writes everything else in one statement: it then needs no transaction.
    """
    return settings_of(await _server_row(session, actor.server_id, actor.user_id), actor)


def settings_of(row: Any | None, actor: Actor) -> ServerSettings | None:
    """The settings in a row read with ``acting_server_columns``, as ``settings_if_current``
    gives them: refuses (``TrackingPaused``) the member or the one the action is about if
    they paused; None when the row is missing or under an old name."""
    _refuse_if_paused(row)
    if row is None or row.server_name != actor.server_name[:100]:
        return None
    return ServerSettings(row.shares_channel_id, row.intros_channel_id, row.asks_channel_id)


async def _server_row(session: Rows, server_id: int, refuse_paused: int | None) -> Any | None:
    """The server's row (None: not there yet), with whether ``refuse_paused`` paused
    (``_refuse_if_paused`` reads it).

    No server row yet: nobody in it has preferences, so nobody paused.
    """
    params = {"id": server_id, "user_id": refuse_paused}
    return (await _SERVER_ROW.execute(session, params)).one_or_none()


def _refuse_if_paused(row: Any | None) -> None:
    """Raise ``TrackingPaused`` if a row read with ``acting_server_columns`` says the member
    acting, or the one the action is about, paused tracking."""
    if row is not None and row.paused:
        raise TrackingPaused(PAUSED_YOU)
    if row is not None and row.other_paused:
        raise TrackingPaused(PAUSED_THEM)


async def touch_server(
    session: Rows, server_id: int, server_name: str, *, refuse_paused: int | None = None
) -> ServerSettings:
    """Create or rename the server's row, and return its settings.

    Read first and write only when something changed: every command touches its server, and an
    unconditional upsert would make all writers of a busy server queue on that one row's lock.
    ``refuse_paused``: a member to refuse (before anything is written) if they paused tracking.
    """
    name = server_name[:100]
    row = await _server_row(session, server_id, refuse_paused)
    _refuse_if_paused(row)
    if row is None:
        created = await _UPSERT_SERVER.execute(session, {"id": server_id, "name": name})
        return ServerSettings(*created.one())
    if row.server_name != name:
        await session.execute(update(Server).where(Server.id == server_id).values(name=name))
    return ServerSettings(row.shares_channel_id, row.intros_channel_id, row.asks_channel_id)


async def note_member(
    session: Rows, server_id: int, user_id: int, display_name: str, at: datetime
) -> None:
    """Make sure a member's row exists (someone the bot saw but who has not acted yet), and
    that they count as in the server."""
    upsert = dialect_insert(session, Member).values(
        server_id=server_id,
        user_id=user_id,
        display_name=display_name[:100],
        first_seen_at=at,
        last_seen_at=at,
    )
    await session.execute(
        upsert.on_conflict_do_update(
            index_elements=[Member.server_id, Member.user_id],
            set_={"display_name": upsert.excluded.display_name, "left_at": None},
        )
    )


async def active_among(
    session: Rows, server_id: int, ids: Collection[int], active_since: datetime
) -> dict[int, tuple[str, datetime]]:
    """Those of ``ids`` who may be named to others: still here, not paused, seen since
    ``active_since``; with their name and when they were last seen.

    Being seen lately is checked here, not in SQL: given that condition, SQLite searched every
    member seen lately for the few asked about.
    """
    if not ids:
        return {}
    rows = await _HERE_AMONG.execute(session, {"server_id": server_id, "ids": list(ids)})
    return {
        row.user_id: (row.display_name, row.last_seen_at)
        for row in rows.all()
        if row.last_seen_at > active_since
    }


async def first_active(
    session: Rows,
    server_id: int,
    batches: Iterable[Collection[int]],
    want: int,
    active_since: datetime,
) -> dict[int, tuple[str, datetime]]:
    """``active_among`` for candidates listed best first, a batch at a time, until ``want`` of
    them may be named: most lists are settled by their first batch."""
    found: dict[int, tuple[str, datetime]] = {}
    for batch in batches:
        found.update(await active_among(session, server_id, batch, active_since))
        if len(found) >= want:
            break
    return found
