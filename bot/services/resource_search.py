"""Finding what this server has shared: by words in the title, note, address and tags, or a tag.

The most useful resources come first (colleagues marked them useful, shared them again or
reacted to their cards), newest first among equals. Tag suggestions are read from the
(server, tag) index, so they come back well inside Discord's three seconds for autocomplete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.sql import ColumnElement

from bot.db import ActivityEvent, Database, Member, Resource, ResourceTag
from bot.services.progress import USE_KINDS
from bot.services.typed_text import storable

PAGE_SIZE = 5
MAX_QUERY_LENGTH = 40
MAX_PAGES = 20
MAX_CHOICES = 25


@dataclass(frozen=True, slots=True)
class FoundResource:
    id: int
    url: str
    title: str | None
    note: str | None
    tags: tuple[str, ...]
    shared_by: int
    shared_by_name: str
    created_at: datetime
    useful: int


@dataclass(frozen=True, slots=True)
class ResourcePage:
    items: tuple[FoundResource, ...]
    page: int  # from 0
    pages: int
    total: int


def search_words(query: str | None) -> list[str]:
    return [word for word in storable(query or "").casefold().split() if word][:8]


class ResourceSearch:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def search(
        self, server_id: int, *, query: str | None = None, tag: str | None = None, page: int = 0
    ) -> ResourcePage:
        conditions: list[ColumnElement[bool]] = [Resource.server_id == server_id]
        if tag:
            conditions.append(
                exists().where(
                    ResourceTag.resource_id == Resource.id,
                    ResourceTag.tag == storable(tag).casefold(),
                )
            )
        for word in search_words(query):
            conditions.append(
                or_(
                    Resource.title.icontains(word, autoescape=True),
                    Resource.note.icontains(word, autoescape=True),
                    Resource.url.icontains(word, autoescape=True),
                    exists().where(
                        ResourceTag.resource_id == Resource.id,
                        ResourceTag.tag.icontains(word, autoescape=True),
                    ),
                )
            )
        useful = (
            select(func.count(func.distinct(ActivityEvent.member_id)))
            .where(
                ActivityEvent.resource_id == Resource.id,
                ActivityEvent.kind.in_([kind.value for kind in USE_KINDS]),
                ActivityEvent.member_id != Resource.shared_by,
            )
            .scalar_subquery()
        )
        async with self._database.read() as session:
            total = await session.scalar(select(func.count()).where(*conditions)) or 0
            pages = max(1, min(MAX_PAGES, -(-total // PAGE_SIZE)))
            page = max(0, min(page, pages - 1))
            rows = (
                await session.execute(
                    select(Resource, Member.display_name, useful.label("useful"))
                    .join(
                        Member,
                        (Member.server_id == Resource.server_id)
                        & (Member.user_id == Resource.shared_by),
                    )
                    .where(*conditions)
                    .order_by(useful.desc(), Resource.created_at.desc(), Resource.id.desc())
                    .offset(page * PAGE_SIZE)
                    .limit(PAGE_SIZE)
                )
            ).all()
        items = tuple(
            FoundResource(
                id=resource.id,
                url=resource.url,
                title=resource.title,
                note=resource.note,
                tags=tuple(t.tag for t in resource.tags),
                shared_by=resource.shared_by,
                shared_by_name=name,
                created_at=resource.created_at,
                useful=count,
            )
            for resource, name, count in rows
        )
        return ResourcePage(items, page, pages, total)

    async def tags(self, server_id: int, prefix: str = "") -> list[tuple[str, int]]:
        """Up to 25 tags starting with ``prefix``, the most used first."""
        start = storable(prefix).strip().lstrip("#").casefold()
        async with self._database.read() as session:
            rows = await session.execute(
                select(ResourceTag.tag, func.count())
                .where(
                    ResourceTag.server_id == server_id,
                    ResourceTag.tag.startswith(start, autoescape=True),
                )
                .group_by(ResourceTag.tag)
                .order_by(func.count().desc(), ResourceTag.tag)
                .limit(MAX_CHOICES)
            )
            return [(row[0], row[1]) for row in rows]
