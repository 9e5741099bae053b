"""Tables. Every row carries the server id; what members did lives in the append-only ledger.

Progress is derived from ``activity_events`` rather than stored as counters, so habit rules can
change and history can be replayed. Other tables hold things (servers, members, resources) and
settings, not tallies.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
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
    intros_channel_id: Mapped[int | None] = mapped_column(Snowflake)
    # Where /ask opens its threads: a text channel or a forum.
    asks_channel_id: Mapped[int | None] = mapped_column(Snowflake)
    # How the weekly challenge is picked: "rotate" the four habits, or target the "weakest".
    challenge_selection: Mapped[str] = mapped_column(
        String(16), default="rotate", server_default="rotate"
    )
    # The IANA timezone an admin chose in /pln setup: the default for weekly schedules.
    timezone: Mapped[str | None] = mapped_column(String(64))
    # The admins' own thresholds for the four habits (``{"connect": {"practicing": 5}, ...}``);
    # None, or a missing figure: the product model's default.
    thresholds: Mapped[dict[str, dict[str, int]] | None] = mapped_column(JSON)
    # When the bot was removed from the server; its data is deleted a retention period later
    # unless the bot comes back. None while the bot is in the server.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Member(Base):
    """A person in one server. The same Discord user in two servers is two members."""

    __tablename__ = "members"
    # Who was active lately: suggestions look at recent members first.
    __table_args__ = (Index("ix_members_server_id_last_seen_at", "server_id", "last_seen_at"),)

    server_id: Mapped[int] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    display_name: Mapped[str] = mapped_column(String(100))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the bot learns the member left the server; cleared if they come back.
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
    # Where /share was used. The card's own channel and message live in its outbox post.
    channel_id: Mapped[int] = mapped_column(Snowflake)
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
        # A member's events of some kinds, lately; with whom, so progress reads no table rows.
        Index(
            "ix_activity_events_member_kind_time_other",
            "server_id",
            "member_id",
            "kind",
            "occurred_at",
            "other_member_id",
        ),
        # One pair's interactions, either way (ties and conversations are derived from them);
        # also whom a member reached, and when they last answered each, from the index alone.
        Index(
            "ix_activity_events_member_other_kind_time",
            "server_id",
            "member_id",
            "other_member_id",
            "kind",
            "occurred_at",
        ),
        # What a deleted message earned (its reply credit, the reactions on it).
        Index("ix_activity_events_message", "server_id", "message_id"),
        # Who spoke last in a thread.
        Index("ix_activity_events_channel_time", "server_id", "channel_id", "occurred_at"),
        # Who reached a member lately (conversations worth continuing); and, from the index
        # alone, which of a member's resources others used (every use names its sharer as
        # other_member_id), read on every /share receipt and /progress.
        Index(
            "ix_activity_events_other_time",
            "server_id",
            "other_member_id",
            "occurred_at",
            "kind",
            "member_id",
            "resource_id",
        ),
        # A resource's events, and who used it how, from the index alone (found useful by
        # others, on /progress).
        Index("ix_activity_events_resource_kind_member", "resource_id", "kind", "member_id"),
    )

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(Snowflake)
    kind: Mapped[str] = mapped_column(String(32))
    habit: Mapped[str | None] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    other_member_id: Mapped[int | None] = mapped_column(Snowflake)
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    channel_id: Mapped[int | None] = mapped_column(Snowflake)
    message_id: Mapped[int | None] = mapped_column(Snowflake)
    dedupe_key: Mapped[str | None] = mapped_column(String(100))


class Introduction(Base):
    """What a member said about themselves with ``/connect intro``, as they typed it.

    The intro card shows these words; ``member_interests`` holds the same answers split into
    normalised tags for matching.
    """

    __tablename__ = "introductions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["server_id", "user_id"],
            ["members.server_id", "members.user_id"],
            ondelete="CASCADE",
        ),
    )

    server_id: Mapped[int] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    role: Mapped[str] = mapped_column(String(100))
    subjects: Mapped[str] = mapped_column(String(300))
    grade_bands: Mapped[str] = mapped_column(String(300))
    learning: Mapped[str] = mapped_column(String(300))
    helping: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MemberInterest(Base):
    """One normalised interest of a member: a subject, a grade band, or a topic to learn or help.

    Suggestions and question routing match members through the (server, tag) index.
    """

    __tablename__ = "member_interests"
    __table_args__ = (
        ForeignKeyConstraint(
            ["server_id", "user_id"],
            ["members.server_id", "members.user_id"],
            ondelete="CASCADE",
        ),
        # Covering (kind and member too): /ask's routing reads who has a tag through it alone.
        # With (server_id, tag) only, SQLite's planner preferred the primary key's covering
        # index and read every interest in the server: 10 ms a /ask at 20,000 members.
        Index(
            "ix_member_interests_server_id_tag_kind_user_id", "server_id", "tag", "kind", "user_id"
        ),
    )

    server_id: Mapped[int] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    # subject | grade | learn | help
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    tag: Mapped[str] = mapped_column(String(40), primary_key=True)


class OutboxPost(Base):
    """A public message the bot owes a channel, from the moment it decides to post it.

    Written in the same transaction as the fact that causes it (a share, later an intro or a
    weekly challenge), so a crash can lose neither. ``(server_id, kind, subject_id)`` is unique:
    one card per resource, one weekly post per server and week. Delivery claims a row with a
    lease (``claimed_by`` / ``claimed_until``); ``first_attempted_at`` says a post may already
    have gone out, so the next attempt looks for it in the channel before posting again.
    """

    __tablename__ = "outbox_posts"
    __table_args__ = (
        UniqueConstraint("server_id", "kind", "subject_id"),
        Index("ix_outbox_posts_state_next_attempt_at", "state", "next_attempt_at"),
        # A message back to its post: reactions on cards, answers in ask threads.
        Index("ix_outbox_posts_server_id_message_id", "server_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    # What to post (a renderer is registered per kind) and about what (e.g. a resource id).
    kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Snowflake)
    channel_id: Mapped[int] = mapped_column(Snowflake)
    # pending -> posted, or pending -> failed (Discord refused for good; ``last_error`` says why).
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[int | None] = mapped_column(Snowflake)
    error_code: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PendingAnswer(Base):
    """An answer the bot owes a member for an action it stored, until it is delivered.

    Written with the action, so that after a crash the restarted bot can still complete the
    member's deferred answer. The interaction token is a secret valid for 15 minutes: it is
    kept only until ``expires_at`` and never logged.
    """

    __tablename__ = "pending_answers"
    __table_args__ = (
        ForeignKeyConstraint(
            ["server_id", "member_id"],
            ["members.server_id", "members.user_id"],
            ondelete="CASCADE",
        ),
        Index("ix_pending_answers_post_id", "post_id"),
        Index("ix_pending_answers_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(Snowflake)
    # Which answer to render (a renderer is registered per kind), about what, with what result.
    kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Snowflake)
    outcome: Mapped[str] = mapped_column(String(32))
    # The post the answer talks about, if any: the answer is final once that post is.
    post_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_posts.id", ondelete="SET NULL"))
    channel_id: Mapped[int] = mapped_column(Snowflake)
    # The worker (process) completing it; others step in only once it has had its chance.
    owner: Mapped[str] = mapped_column(String(64))
    application_id: Mapped[int] = mapped_column(Snowflake)
    interaction_token: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Tie(Base):
    """Two members of a server who reached each other; derived from the ledger, kept current.

    ``member_a`` is the smaller id. A replay of the ledger rebuilds every row.
    """

    __tablename__ = "ties"
    # A member's ties from either side, latest first, without reading table rows (the primary
    # key finds one pair).
    __table_args__ = (
        Index("ix_ties_member_a_last_at", "server_id", "member_a", "last_at", "member_b"),
        Index("ix_ties_member_b_last_at", "server_id", "member_b", "last_at", "member_a"),
    )

    server_id: Mapped[int] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True
    )
    member_a: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    member_b: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    a_to_b: Mapped[int] = mapped_column(default=0)
    b_to_a: Mapped[int] = mapped_column(default=0)


class ConversationWeek(Base):
    """A week in which two members had a conversation; derived from the ledger, kept current."""

    __tablename__ = "conversation_weeks"
    # The primary key serves a member as ``member_a``; this, as ``member_b``, from the index alone.
    __table_args__ = (
        Index("ix_conversation_weeks_member_b_a_week", "server_id", "member_b", "member_a", "week"),
    )

    server_id: Mapped[int] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True
    )
    member_a: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    member_b: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    week: Mapped[date] = mapped_column(Date, primary_key=True)


class BotState(Base):
    """Small facts the bot must remember across restarts (e.g. the synced command hash)."""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Ask(Base):
    """A question a member asked the network with ``/ask``, and the thread that holds it.

    The question is stored because the member gave it to the bot to post. Its thread (or forum
    post) is its outbox post: a thread has the id of the message it starts from, so the post's
    message id is the thread's id.
    """

    __tablename__ = "asks"
    __table_args__ = (
        ForeignKeyConstraint(
            ["server_id", "asker_id"],
            ["members.server_id", "members.user_id"],
            ondelete="CASCADE",
        ),
        Index("ix_asks_server_id_asker_id", "server_id", "asker_id"),
        # Open asks, oldest first.
        Index(
            "ix_asks_server_id_first_answer_at_created_at",
            "server_id",
            "first_answer_at",
            "created_at",
        ),
    )

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    asker_id: Mapped[int] = mapped_column(Snowflake)
    question: Mapped[str] = mapped_column(String(1000))
    # Where the thread was opened: a text channel, or a forum.
    channel_id: Mapped[int] = mapped_column(Snowflake)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When someone other than the asker first answered in the thread.
    first_answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AskTag(Base):
    """One normalised tag on an ask."""

    __tablename__ = "ask_tags"
    __table_args__ = (Index("ix_ask_tags_server_id_tag", "server_id", "tag"),)

    ask_id: Mapped[int] = mapped_column(ForeignKey("asks.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(32), primary_key=True)
    server_id: Mapped[int] = mapped_column(Snowflake)
    position: Mapped[int] = mapped_column(default=0)


class AskHelper(Base):
    """A member ``/ask`` named as likely to help, and whether they were pinged (opted in)."""

    __tablename__ = "ask_helpers"

    ask_id: Mapped[int] = mapped_column(ForeignKey("asks.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    server_id: Mapped[int] = mapped_column(Snowflake)
    position: Mapped[int] = mapped_column(default=0)
    pinged: Mapped[bool] = mapped_column(default=False)
    # Why they were named, as told to the asker ("offered to help with assessment; ...").
    reasons: Mapped[str] = mapped_column(String(300), default="")


class AskAnswer(Base):
    """A message by another member in an ask's thread: an answer, maybe marked helpful."""

    __tablename__ = "ask_answers"
    __table_args__ = (
        Index("ix_ask_answers_server_id_answerer_id", "server_id", "answerer_id"),
        # Who answered lately (question routing).
        Index("ix_ask_answers_server_id_answered_at", "server_id", "answered_at"),
    )

    ask_id: Mapped[int] = mapped_column(ForeignKey("asks.id", ondelete="CASCADE"), primary_key=True)
    message_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    server_id: Mapped[int] = mapped_column(Snowflake)
    answerer_id: Mapped[int] = mapped_column(Snowflake)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set once, by the asker (Mark as helpful).
    helpful_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WeeklySchedule(Base):
    """When a server's weekly post (the challenge, or the recap) goes out: the truth.

    ``next_run_at`` is the next occurrence in UTC, advanced in the transaction that decides the
    week's post. APScheduler only wakes the bot when one is due; it holds nothing of its own.
    """

    __tablename__ = "weekly_schedules"
    __table_args__ = (Index("ix_weekly_schedules_next_run_at", "next_run_at"),)

    server_id: Mapped[int] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True
    )
    # "challenge" or "recap".
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    channel_id: Mapped[int] = mapped_column(Snowflake)
    weekday: Mapped[int] = mapped_column()  # 0 = Monday
    local_time: Mapped[str] = mapped_column(String(5))  # "HH:MM"
    zone: Mapped[str] = mapped_column(String(64))  # IANA name, e.g. "America/Chicago"
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A recap schedule nobody set follows the challenge's (the day before, same time).
    follows_challenge: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomChallenge(Base):
    """A challenge a server's admins wrote for their community (``/challenge add``)."""

    __tablename__ = "custom_challenges"

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    habit: Mapped[str] = mapped_column(String(16))
    difficulty: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HiddenChallenge(Base):
    """A built-in challenge a server's admins removed from their rotation."""

    __tablename__ = "hidden_challenges"

    server_id: Mapped[int] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True
    )
    challenge_key: Mapped[str] = mapped_column(String(60), primary_key=True)


class ChallengeWeek(Base):
    """One server's challenge for one week, as posted (a copy: the bank may change later).

    Unique per server and week, and its post is the outbox row of kind "challenge" with this
    row's id as subject: a crash between deciding and posting neither loses nor repeats it.
    """

    __tablename__ = "challenge_weeks"
    __table_args__ = (UniqueConstraint("server_id", "week"),)

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    week: Mapped[int] = mapped_column()  # e.g. 202648: ISO year and week of the local date
    challenge_key: Mapped[str] = mapped_column(String(60))
    habit: Mapped[str] = mapped_column(String(16))
    difficulty: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(String(400))
    rule_kind: Mapped[str | None] = mapped_column(String(32))
    rule_count: Mapped[int | None] = mapped_column()
    channel_id: Mapped[int] = mapped_column(Snowflake)
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    # The challenge runs from its post to the next one (the deadline shown on the post).
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Posted after downtime, within the grace window: the post says so.
    late: Mapped[bool] = mapped_column(default=False)
    # When the automatic rule was last checked for everyone, and finally after the deadline.
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed: Mapped[bool] = mapped_column(default=False)


class ChallengeCompletion(Base):
    """A member who did a week's challenge: seen in the ledger ("auto") or said so ("self")."""

    __tablename__ = "challenge_completions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["server_id", "member_id"],
            ["members.server_id", "members.user_id"],
            ondelete="CASCADE",
        ),
        Index("ix_challenge_completions_server_id_member_id", "server_id", "member_id"),
    )

    challenge_week_id: Mapped[int] = mapped_column(
        ForeignKey("challenge_weeks.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    server_id: Mapped[int] = mapped_column(Snowflake)
    how: Mapped[str] = mapped_column(String(8))
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Recap(Base):
    """One server's weekly recap. Its figures are read from the ledger when it is drawn, so
    nothing here refers to a member; its post is the outbox row of kind "recap"."""

    __tablename__ = "recaps"
    __table_args__ = (UniqueConstraint("server_id", "week"),)

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    week: Mapped[int] = mapped_column()
    channel_id: Mapped[int] = mapped_column(Snowflake)
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    # The week it covers: the seven days before it was decided.
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    late: Mapped[bool] = mapped_column(default=False)


class MemberPreferences(Base):
    """What a member chose: DM nudges (off unless asked for) and shout-outs in recaps (on)."""

    __tablename__ = "member_preferences"
    __table_args__ = (
        ForeignKeyConstraint(
            ["server_id", "user_id"],
            ["members.server_id", "members.user_id"],
            ondelete="CASCADE",
        ),
        Index("ix_member_preferences_server_id_nudges", "server_id", "nudges"),
    )

    server_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    nudges: Mapped[bool] = mapped_column(default=False)
    shoutouts: Mapped[bool] = mapped_column(default=True)
    # Why nudges were switched off by the bot (e.g. "dms_closed"), so it is said once.
    nudges_stopped: Mapped[str | None] = mapped_column(String(40))
    # Set by /privacy pause: while set, nothing new about the member is stored, and suggestions
    # and question routing skip them.
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NudgeSent(Base):
    """A DM nudge sent (or being sent) to a member: at most one per member per day.

    Inserted before the DM is sent, so two processes, or a retry, never send the same day twice.
    """

    __tablename__ = "nudges_sent"
    __table_args__ = (
        ForeignKeyConstraint(
            ["server_id", "user_id"],
            ["members.server_id", "members.user_id"],
            ondelete="CASCADE",
        ),
        Index("ix_nudges_sent_server_id_kind_subject", "server_id", "kind", "subject_id"),
    )

    server_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # "digest" (subject: the week) or "unanswered_ask" (subject: the ask).
    kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(Snowflake)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BlockedChannel(Base):
    """A channel where Discord refused the bot's posts for a missing permission.

    Posting there pauses until ``/pln check`` finds the permission granted, so a forbidden
    channel never collects the invalid requests Discord bans bots for; admins are told once.
    """

    __tablename__ = "blocked_channels"

    server_id: Mapped[int] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[int] = mapped_column(Snowflake, primary_key=True, autoincrement=False)
    # What Discord or the cache said was missing, in the words of Discord's settings.
    reason: Mapped[str] = mapped_column(String(200))
    blocked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the admins were told (once per block).
    told_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
