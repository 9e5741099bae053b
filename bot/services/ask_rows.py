"""The rows an ask writes, and the statements that write them, built once at import.

``AskService.ask`` runs them statement by statement, or on PostgreSQL as one (``at_once``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CTE, BigInteger, Boolean, Insert, String, Table, true
from sqlalchemy import cast as sql_cast

from bot.db import ActivityEvent, Ask, AskHelper, AskTag
from bot.db.chained_insert import given, insert_each, listed
from bot.db.prepared import Prepared
from bot.db.statements import insert_named
from bot.habits import EventKind, Habit
from bot.services.at_once import ActionAtOnce
from bot.services.members import Actor
from bot.services.routing import HelperPick

_ASKS = cast(Table, Ask.__table__)
_EVENTS = cast(Table, ActivityEvent.__table__)
_ASK_TAGS = cast(Table, AskTag.__table__)
_HELPERS = cast(Table, AskHelper.__table__)
_ASK_COLUMNS = ("server_id", "asker_id", "question", "channel_id", "created_at")
_ASK_TAG_COLUMNS = ("ask_id", "tag", "server_id", "position")
_HELPER_COLUMNS = ("ask_id", "member_id", "server_id", "position", "pinged", "reasons")
_ASKED_COLUMNS = (
    "server_id",
    "member_id",
    "kind",
    "habit",
    "occurred_at",
    "channel_id",
    "dedupe_key",
)
# /ask's statements, built once (see bot.db.statements).
CREATE_ASK = Prepared(insert_named(_ASKS, _ASK_COLUMNS).returning(_ASKS.c.id))
ADD_ASK_TAGS = Prepared(insert_named(_ASK_TAGS, _ASK_TAG_COLUMNS))
ADD_HELPERS = Prepared(insert_named(_HELPERS, _HELPER_COLUMNS))
RECORD_ASKED = Prepared(insert_named(_EVENTS, _ASKED_COLUMNS))
# An ask's event is told from any other by its ask: the dedupe key is this and its id.
ASK_DEDUPE_PREFIX = "ask:"
ASKED = "asked"


def _new_ask_at_once(acting: CTE) -> Insert:
    """The ask, for ``NEW_ASK_AT_ONCE``: no row when the server is not as known (``acting``)."""
    return insert_each(_ASKS, "ask", _ASK_COLUMNS, {}, acting).returning(_ASKS.c.id)


def _its_tags_helpers_and_event(new: CTE) -> list[Insert]:
    tag = listed("tag", {"tag": String()})
    helper = listed("helper", {"member_id": BigInteger(), "pinged": Boolean(), "reasons": String()})
    dedupe_key = given(_EVENTS, "event", "dedupe_key") + sql_cast(new.c.id, String())
    return [
        insert_each(
            _ASK_TAGS,
            "tag",
            _ASK_TAG_COLUMNS,
            {"ask_id": new.c.id, "tag": tag.c.tag, "position": tag.c.ordinality - 1},
            new.join(tag, true()),
        ),
        insert_each(
            _HELPERS,
            "helper",
            _HELPER_COLUMNS,
            {
                "ask_id": new.c.id,
                "member_id": helper.c.member_id,
                "pinged": helper.c.pinged,
                "reasons": helper.c.reasons,
                "position": helper.c.ordinality - 1,
            },
            new.join(helper, true()),
        ),
        insert_each(_EVENTS, "event", _ASKED_COLUMNS, {"dedupe_key": dedupe_key}, new),
    ]


# On PostgreSQL: an ask in one statement (see ``at_once``).
NEW_ASK_AT_ONCE = ActionAtOnce(_new_ask_at_once, _its_tags_helpers_and_event)


def ask_values(
    actor: Actor, question: str, thread_channel_id: int, now: datetime
) -> dict[str, Any]:
    """A new ask's row."""
    return {
        "server_id": actor.server_id,
        "asker_id": actor.user_id,
        "question": question,
        "channel_id": thread_channel_id,
        "created_at": now,
    }


def asked_values(actor: Actor, channel_id: int, now: datetime, dedupe_key: str) -> dict[str, Any]:
    """The asker's event."""
    return {
        "server_id": actor.server_id,
        "member_id": actor.user_id,
        "kind": EventKind.ASK.value,
        "habit": Habit.REQUEST.value,
        "occurred_at": now,
        "channel_id": channel_id,
        "dedupe_key": dedupe_key,
    }


def helper_reasons(pick: HelperPick) -> str:
    """Why a helper was named, as stored (at most 300 characters)."""
    return "; ".join(pick.reasons)[:300]
