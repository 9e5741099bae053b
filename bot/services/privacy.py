"""Members' privacy and servers' retention, driven by the forgetting registry.

Which rows are "about" a member or a server is not listed here a second time: it is read from
``bot.db.forgetting.FORGETTING`` (each table, the columns that refer to a member or a server,
and how). A column pair like ``server_id, user_id`` matches the member in that server; a lone
column like ``other_member_id`` matches them as the other side (in that server); a lone column
with a foreign key (``resource_id``, ``ask_id``) matches the rows that belong to a parent row
that is about them. The one column that needs knowledge of the features is an outbox post's
``subject_id``, whose meaning depends on the post's kind: ``OUTBOX_SUBJECTS`` says, per kind,
which subjects are about a member.

Forgetting deletes explicitly, table by table (children first), in one transaction, rather than
trusting the foreign keys' cascades alone: the result is the same on SQLite and PostgreSQL and
says how many rows went from each table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    delete,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Base, Database, MemberPreferences, OutboxPost, Server, utcnow
from bot.db.forgetting import FORGETTING, How
from bot.services.asks import ASK_THREAD, HELPFUL_THANKS
from bot.services.introductions import INTRO_CARD, WELCOME_POST
from bot.services.members import Actor, touch_actor
from bot.services.pausing import PausedMembers
from bot.services.sharing_rows import RESOURCE_CARD

log = logging.getLogger(__name__)

DEFAULT_RETENTION = timedelta(days=30)
# Kinds of outbox posts about nobody in particular (a server's weekly challenge and recap).
IMPERSONAL_POSTS = frozenset({"challenge", "recap"})
# Never exported: a secret that lets anyone answer in the member's name for 15 minutes.
NOT_EXPORTED = {"pending_answers": {"interaction_token", "owner"}}
# Discord ids are written as strings in exports (JavaScript numbers lose their last digits).
_SAFE_INTEGER = 2**53


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _columns(spec: str) -> list[str]:
    return [column.strip() for column in spec.split(",")]


def _parent(table: Table, column: str) -> Table | None:
    """The table a lone column points to by foreign key (its rows belong to that row)."""
    for key in table.c[column].foreign_keys:
        parent = key.column.table
        if isinstance(parent, Table):
            return parent
    return None


def _primary(table: Table) -> Any:
    [key] = table.primary_key.columns
    return key


# -- which rows: the member's -------------------------------------------------------------------


def _member_rows(name: str, server_id: int | None, user_id: int) -> ColumnElement[bool] | None:
    """Rows of ``name`` about the member (in ``server_id``; every server when None)."""
    table = _table(name)
    clauses: list[ColumnElement[bool]] = []
    for spec, how in FORGETTING[name].member.items():
        if how is How.NOT_PERSONAL:
            continue
        columns = _columns(spec)
        if name == "outbox_posts" and columns == ["subject_id"]:
            clauses.append(_posts_about(server_id, user_id))
            continue
        parent = _parent(table, columns[0]) if len(columns) == 1 else None
        if parent is not None:
            of_parent = _member_rows(parent.name, server_id, user_id)
            if of_parent is not None:
                parents = select(_primary(parent)).where(of_parent)
                clauses.append(table.c[columns[0]].in_(parents))
            continue
        where = [
            table.c[column] == (server_id if column == "server_id" else user_id)
            for column in columns
            if column != "server_id" or server_id is not None
        ]
        if server_id is not None and "server_id" not in columns and "server_id" in table.c:
            where.append(table.c.server_id == server_id)
        clauses.append(and_(*where))
    return or_(*clauses) if clauses else None


# The subjects about a member: a query of them, or the member's own id.
Subjects = Callable[[int | None, int], "Select[Any] | int"]


def _subjects_of(name: str) -> Subjects:
    def subjects(server_id: int | None, user_id: int) -> Select[Any] | int:
        table = _table(name)
        rows = _member_rows(name, server_id, user_id)
        return select(_primary(table)).where(rows if rows is not None else false())

    return subjects


def _thanked_answers(server_id: int | None, user_id: int) -> Select[Any] | int:
    """Answers thanked in public: by the member, or in the member's question's thread."""
    answers = _table("ask_answers")
    rows = _member_rows("ask_answers", server_id, user_id)
    return select(answers.c.message_id).where(rows if rows is not None else false())


def _the_member(_server_id: int | None, user_id: int) -> Select[Any] | int:
    return user_id


# For each kind of outbox post, its subjects that are about a member (the post goes with them).
OUTBOX_SUBJECTS: dict[str, Subjects] = {
    RESOURCE_CARD: _subjects_of("resources"),  # subject: the resource
    ASK_THREAD: _subjects_of("asks"),  # subject: the ask
    HELPFUL_THANKS: _thanked_answers,  # subject: the answer's message
    INTRO_CARD: _the_member,  # subject: the member
    WELCOME_POST: _the_member,  # subject: the newcomer
}


def _posts_about(server_id: int | None, user_id: int) -> ColumnElement[bool]:
    posts = _table("outbox_posts")
    clauses = []
    for kind, subjects in OUTBOX_SUBJECTS.items():
        about = subjects(server_id, user_id)
        where = [
            posts.c.kind == kind,
            posts.c.subject_id == about
            if isinstance(about, int)
            else posts.c.subject_id.in_(about),
        ]
        if server_id is not None:
            where.append(posts.c.server_id == server_id)
        clauses.append(and_(*where))
    return or_(*clauses)


# -- which rows: the server's -------------------------------------------------------------------


def _server_rows(name: str, server_id: int) -> ColumnElement[bool] | None:
    table = _table(name)
    clauses: list[ColumnElement[bool]] = []
    for spec, how in FORGETTING[name].server.items():
        if how is How.NOT_PERSONAL:
            continue
        columns = _columns(spec)
        column = "server_id" if "server_id" in columns else columns[0]
        parent = _parent(table, column)
        if parent is not None and parent.name != "servers" and column != "server_id":
            of_parent = _server_rows(parent.name, server_id)
            if of_parent is not None:
                clauses.append(table.c[column].in_(select(_primary(parent)).where(of_parent)))
            continue
        clauses.append(table.c[column] == server_id)
    return or_(*clauses) if clauses else None


def _deletion_order() -> list[str]:
    """Children before parents; outbox posts first, since which posts are about a member is
    read from the resources, asks and answers they name."""
    names = [table.name for table in reversed(Base.metadata.sorted_tables)]
    names.remove("outbox_posts")
    return ["outbox_posts", *names]


# -- results ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublicPost:
    """A message the bot posted about a forgotten member (still on Discord)."""

    server_id: int
    channel_id: int
    message_id: int


@dataclass
class Deleted:
    """What forgetting deleted: rows per table, and the bot's public posts that were about it."""

    rows: dict[str, int] = field(default_factory=dict)
    posts: list[PublicPost] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


@dataclass(frozen=True, slots=True)
class PurgedServer:
    server_id: int
    name: str
    deleted: Deleted


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and abs(value) >= _SAFE_INTEGER:
        return str(value)
    return value


class PrivacyService:
    """What is stored about a member, their export, pause, and forgetting; servers' retention."""

    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._database = database
        self._clock = clock
        # Who paused tracking, for passive tracking's hot path (see PausedMembers).
        self.paused = PausedMembers()

    # -- pause ----------------------------------------------------------------------------------

    async def load_paused(self) -> None:
        """Read every pause (at start-up)."""
        async with self._database.read() as session:
            rows = await session.execute(
                select(MemberPreferences.server_id, MemberPreferences.user_id).where(
                    MemberPreferences.paused_at.is_not(None)
                )
            )
            self.paused.replace((row.server_id, row.user_id) for row in rows)

    async def paused_since(self, server_id: int, user_id: int) -> datetime | None:
        async with self._database.read() as session:
            return await session.scalar(
                select(MemberPreferences.paused_at).where(
                    MemberPreferences.server_id == server_id, MemberPreferences.user_id == user_id
                )
            )

    async def pause(self, actor: Actor) -> bool:
        """Pause tracking for the member in this server; False if it already was."""
        now = self._clock()
        async with self._database.write() as session:
            await touch_actor(session, actor, now)
            row = await session.get(MemberPreferences, (actor.server_id, actor.user_id))
            if row is None:
                session.add(
                    MemberPreferences(
                        server_id=actor.server_id,
                        user_id=actor.user_id,
                        paused_at=now,
                        updated_at=now,
                    )
                )
                changed = True
            else:
                changed = row.paused_at is None
                if changed:
                    row.paused_at = now
                    row.updated_at = now
        self.paused.add(actor.server_id, actor.user_id)
        return changed

    async def resume(self, server_id: int, user_id: int) -> bool:
        """Switch tracking back on; False if it was not paused."""
        async with self._database.write() as session:
            result = await session.execute(
                update(MemberPreferences)
                .where(
                    MemberPreferences.server_id == server_id,
                    MemberPreferences.user_id == user_id,
                    MemberPreferences.paused_at.is_not(None),
                )
                .values(paused_at=None, updated_at=self._clock())
                .returning(MemberPreferences.user_id)
            )
            changed = result.scalar_one_or_none() is not None
        self.paused.discard(server_id, user_id)
        return changed

    # -- show and export ------------------------------------------------------------------------

    async def summary(self, server_id: int, user_id: int) -> dict[str, int]:
        """How many rows of each table are about the member in this server (tables with none
        are left out)."""
        counts: dict[str, int] = {}
        async with self._database.read() as session:
            for name in FORGETTING:
                rows = _member_rows(name, server_id, user_id)
                if rows is None:
                    continue
                count = await session.scalar(
                    select(func.count()).select_from(_table(name)).where(rows)
                )
                if count:
                    counts[name] = count
        return counts

    async def export(self, server_id: int, user_id: int) -> dict[str, Any]:
        """Every row about the member in this server, table by table, as JSON-ready values."""
        tables: dict[str, list[dict[str, Any]]] = {}
        async with self._database.read() as session:
            for name in FORGETTING:
                rows = _member_rows(name, server_id, user_id)
                if rows is None:
                    continue
                table = _table(name)
                hidden = NOT_EXPORTED.get(name, set())
                columns = [column for column in table.columns if column.name not in hidden]
                found = await session.execute(
                    select(*columns).where(rows).order_by(*table.primary_key.columns)
                )
                tables[name] = [
                    {key: _jsonable(value) for key, value in row._mapping.items()} for row in found
                ]
        return {
            "server_id": str(server_id),
            "user_id": str(user_id),
            "exported_at": self._clock().isoformat(),
            "tables": tables,
        }

    # -- forgetting -----------------------------------------------------------------------------

    async def forget(self, server_id: int, user_id: int) -> Deleted:
        """Delete every row about the member in this server, in one transaction."""
        async with self._database.write() as session:
            deleted = await self._forget(session, server_id, user_id)
        self.paused.discard(server_id, user_id)
        return deleted

    async def forget_everywhere(self, user_id: int) -> Deleted:
        """Delete every row about the member in every server, in one transaction."""
        async with self._database.write() as session:
            deleted = await self._forget(session, None, user_id)
        self.paused.discard_user(user_id)
        return deleted

    async def servers_of(self, user_id: int) -> list[tuple[int, str]]:
        """The servers (id, name) where something about the user is stored."""
        members = _table("members")
        async with self._database.read() as session:
            rows = await session.execute(
                select(Server.id, Server.name)
                .where(
                    Server.id.in_(select(members.c.server_id).where(members.c.user_id == user_id))
                )
                .order_by(Server.name)
            )
            return [(row.id, row.name) for row in rows]

    async def _forget(self, session: AsyncSession, server_id: int | None, user_id: int) -> Deleted:
        deleted = Deleted()
        posts = _posts_about(server_id, user_id)
        found = await session.execute(
            select(OutboxPost.server_id, OutboxPost.channel_id, OutboxPost.message_id).where(
                posts, OutboxPost.message_id.is_not(None)
            )
        )
        deleted.posts = [
            PublicPost(row.server_id, row.channel_id, row.message_id)
            for row in found
            if row.message_id is not None
        ]
        for name in _deletion_order():
            rows = _member_rows(name, server_id, user_id)
            if rows is not None:
                await _delete(session, deleted, name, rows)
        return deleted

    # -- servers --------------------------------------------------------------------------------

    async def purge_server(self, server_id: int) -> PurgedServer | None:
        """Delete everything stored about the server at once; None if nothing is known of it."""
        async with self._database.write() as session:
            name = await session.scalar(select(Server.name).where(Server.id == server_id))
            if name is None:
                return None
            deleted = await self._purge(session, server_id)
        self.paused.discard_server(server_id)
        return PurgedServer(server_id, name, deleted)

    async def purge_removed_servers(
        self,
        now: datetime,
        retention: timedelta = DEFAULT_RETENTION,
        owns: Callable[[int], bool] = lambda _server_id: True,
    ) -> list[PurgedServer]:
        """Delete the servers the bot was removed from more than ``retention`` ago (those
        ``owns`` accepts: each process sweeps its own shards' servers), one transaction each."""
        async with self._database.read() as session:
            due = (
                await session.scalars(
                    select(Server.id).where(
                        Server.removed_at.is_not(None), Server.removed_at <= now - retention
                    )
                )
            ).all()
        purged = []
        for server_id in due:
            if not owns(server_id):
                continue
            async with self._database.write() as session:
                # Still removed? (The bot may have come back since.)
                row = (
                    await session.execute(
                        select(Server.name, Server.removed_at).where(Server.id == server_id)
                    )
                ).one_or_none()
                if row is None or row.removed_at is None or row.removed_at > now - retention:
                    continue
                deleted = await self._purge(session, server_id)
            self.paused.discard_server(server_id)
            purged.append(PurgedServer(server_id, row.name, deleted))
        return purged

    async def server_removed(self, server_id: int, at: datetime | None = None) -> None:
        """The bot was removed from the server: its data goes after the retention period."""
        async with self._database.write() as session:
            await session.execute(
                update(Server)
                .where(Server.id == server_id, Server.removed_at.is_(None))
                .values(removed_at=at or self._clock())
            )

    async def servers_present(
        self, server_ids: set[int], owns: Callable[[int], bool] = lambda _server_id: True
    ) -> None:
        """The bot is in these servers, and no longer in the other ones ``owns`` accepts.

        Called when the bot is ready: a server the bot was removed from while it was down sent
        no event, and one it came back to is kept.
        """
        now = self._clock()
        async with self._database.write() as session:
            if server_ids:
                await session.execute(
                    update(Server)
                    .where(Server.id.in_(sorted(server_ids)), Server.removed_at.is_not(None))
                    .values(removed_at=None)
                )
            known = (
                await session.scalars(select(Server.id).where(Server.removed_at.is_(None)))
            ).all()
            gone = [sid for sid in known if sid not in server_ids and owns(sid)]
            if gone:
                await session.execute(
                    update(Server).where(Server.id.in_(gone)).values(removed_at=now)
                )

    async def server_joined(self, server_id: int) -> None:
        """The bot is (back) in the server: nothing of it is to be deleted."""
        async with self._database.write() as session:
            await session.execute(
                update(Server)
                .where(Server.id == server_id, Server.removed_at.is_not(None))
                .values(removed_at=None)
            )

    @staticmethod
    async def _purge(session: AsyncSession, server_id: int) -> Deleted:
        deleted = Deleted()
        for name in _deletion_order():
            rows = _server_rows(name, server_id)
            if rows is not None:
                await _delete(session, deleted, name, rows)
        return deleted


async def _delete(
    session: AsyncSession, deleted: Deleted, name: str, rows: ColumnElement[bool]
) -> None:
    result = await session.execute(
        delete(_table(name)).where(rows).execution_options(synchronize_session=False)
    )
    count = max(getattr(result, "rowcount", 0) or 0, 0)
    if count:
        deleted.rows[name] = deleted.rows.get(name, 0) + count
