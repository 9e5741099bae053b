"""A server's own list of challenges: the built-in bank, minus what admins removed, plus theirs.

Removing a built-in challenge hides it for that server only; removing one of the server's own
deletes it. Weeks already posted keep their copy of the text either way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import delete, select

from bot.challenges.bank import BANK, MAX_TEXT_LENGTH, MAX_TITLE_LENGTH, Difficulty, built_in
from bot.challenges.selection import CUSTOM_PREFIX, Pick, available, pick_for_week
from bot.db import ChallengeWeek, CustomChallenge, Database, HiddenChallenge, utcnow
from bot.db.upsert import dialect_insert
from bot.errors import UserFacingError
from bot.habits import Habit
from bot.scheduling.clock import Clock
from bot.scheduling.weekly import week_number
from bot.services.members import Actor, touch_actor
from bot.services.typed_text import storable


class Removed(enum.StrEnum):
    HIDDEN = "hidden"  # a built-in challenge, no longer picked here
    DELETED = "deleted"  # the server's own challenge, gone
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    pick: Pick
    custom: bool


class ChallengeCatalogue:
    def __init__(self, database: Database, clock: Clock = utcnow) -> None:
        self._database = database
        self._clock = clock

    async def entries(self, server_id: int, habit: Habit | None = None) -> list[CatalogueEntry]:
        async with self._database.read() as session:
            picks = await available(session, server_id)
        return [
            CatalogueEntry(pick, pick.key.startswith(CUSTOM_PREFIX))
            for pick in picks
            if habit is None or pick.habit is habit
        ]

    async def add(
        self, actor: Actor, habit: Habit, difficulty: Difficulty, title: str, text: str
    ) -> Pick:
        title, text = " ".join(storable(title).split()), storable(text).strip()
        if not title or not text:
            raise UserFacingError("A challenge needs a title and a text.")
        if len(title) > MAX_TITLE_LENGTH or len(text) > MAX_TEXT_LENGTH:
            raise UserFacingError(
                f"Keep the title within {MAX_TITLE_LENGTH} characters and the text within "
                f"{MAX_TEXT_LENGTH}: a challenge members read at a glance works best."
            )
        async with self._database.write() as session:
            await touch_actor(session, actor, self._clock())
            row = CustomChallenge(
                server_id=actor.server_id,
                habit=habit.value,
                difficulty=difficulty.value,
                title=title,
                text=text,
                created_at=self._clock(),
            )
            session.add(row)
            await session.flush()
            return Pick.of_custom(row)

    async def remove(self, actor: Actor, key: str) -> tuple[Removed, str]:
        """Take a challenge out of this server's rotation; returns what happened and its title."""
        key = key.strip()
        async with self._database.write() as session:
            await touch_actor(session, actor, self._clock())
            if key.startswith(CUSTOM_PREFIX) and key.removeprefix(CUSTOM_PREFIX).isdigit():
                row = await session.get(CustomChallenge, int(key.removeprefix(CUSTOM_PREFIX)))
                if row is None or row.server_id != actor.server_id:
                    return Removed.UNKNOWN, key
                await session.execute(delete(CustomChallenge).where(CustomChallenge.id == row.id))
                return Removed.DELETED, row.title
            challenge = built_in(key)
            if challenge is None:
                return Removed.UNKNOWN, key
            await session.execute(
                dialect_insert(session, HiddenChallenge)
                .values(server_id=actor.server_id, challenge_key=key)
                .on_conflict_do_nothing()
            )
            return Removed.HIDDEN, challenge.title

    async def preview(self, server_id: int) -> Pick | None:
        """What this server's next challenge would be, if it were picked now."""
        now = self._clock()
        async with self._database.read() as session:
            latest = await session.scalar(
                select(ChallengeWeek.week)
                .where(ChallengeWeek.server_id == server_id)
                .order_by(ChallengeWeek.week.desc())
                .limit(1)
            )
            week = max(week_number(now.date()), (latest or 0) + 1)
            return await pick_for_week(session, server_id, week, now)

    @staticmethod
    def bank_size() -> int:
        return len(BANK)
