"""Tables. Every row carries the server id; what members did lives in the append-only ledger.

Progress is derived from ``activity_events`` rather than stored as counters, so habit rules can
change and history can be replayed. Other tables hold things (servers, members, resources) and
settings, not tallies.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.base import Base
from bot.db.types import Snowflake, SurrogateKey, UTCDateTime, utcnow


class Server(Base):
    """A Discord server (guild) the bot has seen, with its PLN Coach settings."""

    __tablename__ = "servers"

    id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(100))
    shares_channel_id: Mapped[int | None] = mapped_column(Snowflake)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Member(Base):
    """A person in one server. The same Discord user in two servers is two members."""

    __tablename__ = "members"

    server_id: Mapped[int] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    display_name: Mapped[str] = mapped_column(String(100))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Resource(Base):
    """Something a member shared (``/share``): a link with an optional title, note and tags."""

    __tablename__ = "resources"
    __table_args__ = (
        UniqueConstraint("server_id", "url_hash"),
        ForeignKeyConstraint(
            ["server_id", "shared_by"],
            ["members.server_id", "members.user_id"],
            ondelete="CASCADE",
        ),
        Index("ix_resources_server_id_shared_by", "server_id", "shared_by"),
    )

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    shared_by: Mapped[int] = mapped_column(Snowflake)
    url: Mapped[str] = mapped_column(Text)
    # sha256 of the normalised URL: a fixed-size key for "was this shared here before?".
    url_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    channel_id: Mapped[int] = mapped_column(Snowflake)
    card_channel_id: Mapped[int | None] = mapped_column(Snowflake)
    card_message_id: Mapped[int | None] = mapped_column(Snowflake)
    # Set while one command is posting the card, so a concurrent or later /share of the same
    # link neither posts a second card nor waits forever for one that failed.
    card_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tags: Mapped[list[ResourceTag]] = relationship(
        back_populates="resource",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="ResourceTag.position",
    )


class ResourceTag(Base):
    """One normalised tag on a resource, kept in the order the member typed them."""

    __tablename__ = "resource_tags"
    __table_args__ = (Index("ix_resource_tags_server_id_tag", "server_id", "tag"),)

    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(32), primary_key=True)
    server_id: Mapped[int] = mapped_column(Snowflake)
    position: Mapped[int] = mapped_column(default=0)

    resource: Mapped[Resource] = relationship(back_populates="tags")


class ActivityEvent(Base):
    """One thing a member did, appended and never updated.

    ``dedupe_key`` (unique per server when set) makes recording idempotent: the same Discord
    message or button press recorded twice stays one event.
    """

    __tablename__ = "activity_events"
    __table_args__ = (
        UniqueConstraint("server_id", "dedupe_key"),
        ForeignKeyConstraint(
            ["server_id", "member_id"],
            ["members.server_id", "members.user_id"],
            ondelete="CASCADE",
        ),
        Index(
            "ix_activity_events_member_kind_time", "server_id", "member_id", "kind", "occurred_at"
        ),
    )

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(Snowflake)
    kind: Mapped[str] = mapped_column(String(32))
    habit: Mapped[str | None] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    other_member_id: Mapped[int | None] = mapped_column(Snowflake)
    resource_id: Mapped[int | None] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int | None] = mapped_column(Snowflake)
    message_id: Mapped[int | None] = mapped_column(Snowflake)
    dedupe_key: Mapped[str | None] = mapped_column(String(100))


class BotState(Base):
    """Small facts the bot must remember across restarts (e.g. the synced command hash)."""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
