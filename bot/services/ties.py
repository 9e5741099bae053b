"""Reading the ties graph: which of some members a member has already talked with.

Both /connect suggest (who is new to you) and /ask (who has talked with you before) ask it for
a few hundred members at a time.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import BigInteger, bindparam, select, union_all

from bot.db import Tie
from bot.db.prepared import Prepared
from bot.db.statements import PerDialect, Rows, is_one_of, table_of

_TIES = table_of(Tie)
# A pair is stored once, the smaller id as member_a: one index search per side. An OR of the
# two sides made SQLite search the server's ties (``server_id=?``) instead.
_TIES_WITH = Prepared(
    PerDialect(
        lambda insert: union_all(
            select(_TIES.c.member_b).where(
                _TIES.c.server_id == bindparam("server_id"),
                _TIES.c.member_a == bindparam("member_id"),
                is_one_of(_TIES.c.member_b, "others", insert, BigInteger()),
            ),
            select(_TIES.c.member_a).where(
                _TIES.c.server_id == bindparam("server_id"),
                _TIES.c.member_b == bindparam("member_id"),
                is_one_of(_TIES.c.member_a, "others", insert, BigInteger()),
            ),
        )
    )
)


async def tied_with(
    session: Rows, server_id: int, member_id: int, others: Collection[int]
) -> set[int]:
    """Those of ``others`` the member has a tie with (talked with, either way)."""
    if not others:
        return set()
    rows = await _TIES_WITH.execute(
        session, {"server_id": server_id, "member_id": member_id, "others": list(others)}
    )
    return set(rows.scalars())
