"""Threads: public threads in text channels, private ones, and posts in forum channels.

A thread is a channel (type 11 PUBLIC_THREAD, or 12 PRIVATE_THREAD) whose ``parent_id`` is the
text or forum channel; messages posted in it have the thread's id as ``channel_id``. What
starting one produces, in order (docs: resources/channel Start Thread from Message / without
Message / in Forum or Media Channel, resources/message Message Reference Content Attribution,
topics/threads New Message Types and Forums):

- from a message: THREAD_CREATE (``newly_created``), MESSAGE_UPDATE of that message (flag
  HAS_THREAD, ``thread``), then MESSAGE_CREATE of a THREAD_STARTER_MESSAGE (type 21) inside the
  thread, with no content and a ``message_reference`` back to the message; the thread has the
  message's id;
- without a message: THREAD_CREATE, then (public threads only) a THREAD_CREATED (type 18)
  message in the parent channel, authored by the starter, whose content is the thread's name
  and whose ``message_reference`` points at the thread (``channel_id``, ``guild_id``, no
  ``message_id``);
- a forum post: THREAD_CREATE (with ``applied_tags``), then MESSAGE_CREATE of the post's first
  message, an ordinary message inside the thread that has the thread's id. The forum's
  ``last_message_id`` becomes the thread's id.

What Discord refuses whoever asks raises ``Refused`` (a ``ValueError`` carrying the REST error);
callers check permissions, except the tag rules, which depend on them (``moderator``).
"""

from __future__ import annotations

from collections.abc import Sequence

from . import errors
from .errors import APIError
from .gateway import GatewayHub
from .messages import MessageService, UploadedFile
from .snowflakes import utcnow
from .state import (
    FORUM_CHANNEL,
    HAS_THREAD,
    PINNED,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    REQUIRE_TAG,
    TEXT_CHANNEL,
    THREAD_STARTER_MESSAGE,
    Channel,
    Message,
    Payload,
    ThreadState,
    User,
)
from .world import World

THREAD_CREATED = 18
NAME_LIMIT = 100
AUTO_ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)
APPLIED_TAGS_LIMIT = 5
SLOWMODE_LIMIT = 21600


def thread_archived() -> APIError:
    return APIError(400, 50083, "Thread is archived")


class Refused(ValueError):
    """Discord refuses this whoever asks; ``error`` is its REST answer."""

    def __init__(self, reason: str, error: APIError) -> None:
        super().__init__(reason)
        self.error = error


class TagForbidden(PermissionError):
    """A moderated tag, which only members with MANAGE_THREADS may add or remove."""


def check_name(name: object) -> str:
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= NAME_LIMIT:
        raise Refused(
            f"a thread name has 1 to {NAME_LIMIT} characters",
            errors.form_error(
                ("name",),
                "BASE_TYPE_BAD_LENGTH",
                f"Must be between 1 and {NAME_LIMIT} in length.",
            ),
        )
    return name.strip()


def check_auto_archive_duration(value: object) -> int:
    if value not in AUTO_ARCHIVE_DURATIONS or isinstance(value, bool) or not isinstance(value, int):
        raise Refused(
            f"auto_archive_duration must be one of {AUTO_ARCHIVE_DURATIONS}",
            errors.form_error(
                ("auto_archive_duration",),
                "BASE_TYPE_CHOICES",
                f"Value must be one of {set(AUTO_ARCHIVE_DURATIONS)}.",
            ),
        )
    return value


def check_slowmode(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= SLOWMODE_LIMIT:
        raise Refused(
            f"rate_limit_per_user must be 0 to {SLOWMODE_LIMIT}",
            errors.form_error(
                ("rate_limit_per_user",),
                "NUMBER_TYPE_MAX",
                f"int value should be between 0 and {SLOWMODE_LIMIT}.",
            ),
        )
    return value


def check_applied_tags(
    forum: Channel, tags: object, *, moderator: bool, before: Sequence[int] = ()
) -> list[int]:
    """Tag ids for a post in ``forum``: at most 5, each one of the forum's, the moderated ones
    only changed by a moderator, and at least one when the forum has REQUIRE_TAG."""
    assert forum.forum is not None
    if not isinstance(tags, list):
        raise Refused(
            "applied_tags must be a list of tag ids",
            errors.form_error(("applied_tags",), "BASE_TYPE_ARRAY", "Must be an array."),
        )
    if len(tags) > APPLIED_TAGS_LIMIT:
        raise Refused(
            f"a post carries at most {APPLIED_TAGS_LIMIT} tags",
            errors.form_error(
                ("applied_tags",),
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {APPLIED_TAGS_LIMIT} or fewer in length.",
            ),
        )
    ids: list[int] = []
    for index, raw in enumerate(tags):
        try:
            tag_id = int(raw)
        except (TypeError, ValueError):
            tag_id = 0
        tag = forum.forum.tag(tag_id) if not isinstance(raw, bool) else None
        if tag is None:
            raise Refused(
                f"{raw!r} is not a tag of forum {forum.id}",
                errors.form_error(
                    ("applied_tags", index), "FORUM_TAG_UNKNOWN", "Unknown tag for this channel."
                ),
            )
        if tag_id not in ids:
            ids.append(tag_id)
    changed = set(ids) ^ set(before)
    moderated = {t.id for t in forum.forum.available_tags if t.moderated}
    if changed & moderated and not moderator:
        raise TagForbidden("only members with MANAGE_THREADS may add or remove moderated tags")
    if forum.flags & REQUIRE_TAG and not ids:
        raise Refused(
            f"forum {forum.id} requires a tag on every post",
            APIError(400, 40067, "A tag is required to create a forum post in this channel"),
        )
    return ids


class ThreadService:
    def __init__(self, world: World, hub: GatewayHub, messages: MessageService) -> None:
        self.world = world
        self.hub = hub
        self.messages = messages

    def start(
        self,
        parent: Channel,
        creator: User,
        name: str,
        *,
        source: Message | None = None,
        auto_archive_duration: int = 1440,
        thread_type: int = PUBLIC_THREAD,
        rate_limit_per_user: int = 0,
        invitable: bool = True,
    ) -> Channel:
        """Create a thread in text channel ``parent`` (from ``source`` if given) and announce it.

        Callers check permissions; this raises ``Refused`` for what Discord refuses whoever
        asks: a parent that is not a text channel, a bad name or duration, a message that is
        not in the parent or already has a thread, a private thread from a message.
        """
        if parent.type != TEXT_CHANNEL or parent.guild_id is None:
            raise Refused(
                f"channel {parent.id} is not a guild text channel",
                APIError(400, 50024, "Cannot execute action on this channel type"),
            )
        name = check_name(name)
        check_auto_archive_duration(auto_archive_duration)
        check_slowmode(rate_limit_per_user)
        if thread_type not in (PUBLIC_THREAD, PRIVATE_THREAD) or (
            source is not None and thread_type != PUBLIC_THREAD
        ):
            raise Refused(
                f"cannot start a thread of type {thread_type} here",
                errors.form_error(("type",), "BASE_TYPE_CHOICES", "Value must be one of {11, 12}."),
            )
        if source is not None:
            if source.channel_id != parent.id or source.deleted or source.ephemeral:
                raise Refused(
                    f"message {source.id} is not in channel {parent.id}", errors.unknown_message()
                )
            if source.id in self.world.channels:
                raise Refused(
                    f"message {source.id} already started a thread",
                    APIError(400, 160004, "A thread has already been created for this message"),
                )
        thread = self._create(
            parent,
            creator,
            name,
            thread_id=source.id if source is not None else None,
            thread_type=thread_type,
            auto_archive_duration=auto_archive_duration,
            rate_limit_per_user=rate_limit_per_user,
            applied_tags=None,
        )
        assert thread.thread is not None
        thread.thread.invitable = invitable
        self._announce_created(thread)
        if source is not None:
            source.flags |= HAS_THREAD
            self.messages.announce_update(source)
            self.messages.post_system(
                self._system_message(
                    thread,
                    author_id=source.author_id,
                    message_type=THREAD_STARTER_MESSAGE,
                    reference={"message_id": str(source.id), "channel_id": str(parent.id)},
                )
            )
        elif thread_type == PUBLIC_THREAD:
            self.messages.post_system(
                self._system_message(
                    parent,
                    author_id=creator.id,
                    message_type=THREAD_CREATED,
                    reference={"channel_id": str(thread.id)},
                    content=thread.name,
                )
            )
        return thread

    def start_post(
        self,
        forum: Channel,
        creator: User,
        name: str,
        *,
        body: Payload,
        author_permissions: int,
        files: Sequence[UploadedFile] = (),
        applied_tags: object = None,
        moderator: bool = False,
        auto_archive_duration: int | None = None,
        rate_limit_per_user: int | None = None,
    ) -> tuple[Channel, Message]:
        """Post in a forum: a public thread whose first message (``body``, validated by the
        caller) has the thread's id. Returns the thread and that message."""
        if forum.type != FORUM_CHANNEL or forum.forum is None:
            raise Refused(
                f"channel {forum.id} is not a forum channel",
                APIError(400, 50024, "Cannot execute action on this channel type"),
            )
        name = check_name(name)
        duration = check_auto_archive_duration(
            forum.forum.default_auto_archive_duration
            if auto_archive_duration is None
            else auto_archive_duration
        )
        slowmode = check_slowmode(
            forum.forum.default_thread_rate_limit_per_user
            if rate_limit_per_user is None
            else rate_limit_per_user
        )
        tags = check_applied_tags(
            forum, [] if applied_tags is None else applied_tags, moderator=moderator
        )
        thread = self._create(
            forum,
            creator,
            name,
            thread_id=None,
            thread_type=PUBLIC_THREAD,
            auto_archive_duration=duration,
            rate_limit_per_user=slowmode,
            applied_tags=tags,
        )
        forum.last_message_id = thread.id  # a forum's last "message" is its newest post
        self._announce_created(thread)
        with self.world.ids.reusing(thread.id):
            message = self.messages.create(
                channel=thread,
                author=creator,
                body=body,
                files=files,
                author_permissions=author_permissions,
            )
        assert message.id == thread.id, "the first message of a forum post has the thread's id"
        return thread, message

    def update(
        self,
        thread: Channel,
        *,
        name: str | None = None,
        archived: bool | None = None,
        locked: bool | None = None,
        auto_archive_duration: int | None = None,
        applied_tags: list[int] | None = None,
        rate_limit_per_user: int | None = None,
        pinned: bool | None = None,
    ) -> None:
        """Apply checked changes and send THREAD_UPDATE (archiving also unpins a post)."""
        state = thread.thread
        assert state is not None
        if name is not None:
            thread.name = check_name(name)
        if rate_limit_per_user is not None:
            thread.rate_limit_per_user = check_slowmode(rate_limit_per_user)
        if pinned is not None:
            thread.flags = thread.flags | PINNED if pinned else thread.flags & ~PINNED
        if auto_archive_duration is not None:
            state.auto_archive_duration = check_auto_archive_duration(auto_archive_duration)
            state.archived_at = utcnow()
        if locked is not None:
            state.locked = locked
        if archived is not None and archived != state.archived:
            state.archived = archived
            state.archived_at = utcnow()
            if archived:
                thread.flags &= ~PINNED
        if applied_tags is not None:
            state.applied_tags = applied_tags
        self.hub.emit(
            "THREAD_UPDATE", thread.to_payload(), guild_id=thread.guild_id, channel_id=thread.id
        )

    def _create(
        self,
        parent: Channel,
        creator: User,
        name: str,
        *,
        thread_id: int | None,
        thread_type: int,
        auto_archive_duration: int,
        rate_limit_per_user: int,
        applied_tags: list[int] | None,
    ) -> Channel:
        now = utcnow()
        thread = Channel(
            id=thread_id if thread_id is not None else self.world.ids.next(),
            guild_id=parent.guild_id,
            name=name,
            type=thread_type,
            parent_id=parent.id,
            owner_id=creator.id,
            rate_limit_per_user=rate_limit_per_user,
            thread=ThreadState(
                created_at=now,
                auto_archive_duration=auto_archive_duration,
                applied_tags=applied_tags,
            ),
        )
        assert thread.thread is not None
        thread.thread.join(creator.id, now)
        self.world.add_thread(thread)
        return thread

    def _announce_created(self, thread: Channel) -> None:
        self.hub.emit(
            "THREAD_CREATE",
            {**thread.to_payload(), "newly_created": True},
            guild_id=thread.guild_id,
            channel_id=thread.id,
        )

    def _system_message(
        self,
        channel: Channel,
        *,
        author_id: int,
        message_type: int,
        reference: Payload,
        content: str = "",
    ) -> Message:
        return Message(
            id=self.world.ids.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author_id,
            content=content,
            type=message_type,
            created_at=utcnow(),
            message_reference={"type": 0, **reference, "guild_id": str(channel.guild_id)},
        )

    def delete(self, thread: Channel) -> None:
        """THREAD_DELETE carries only ``id``, ``guild_id``, ``parent_id`` and ``type``."""
        self.world.channels.pop(thread.id, None)
        data: Payload = {
            "id": str(thread.id),
            "guild_id": str(thread.guild_id),
            "parent_id": str(thread.parent_id),
            "type": thread.type,
        }
        self.hub.emit("THREAD_DELETE", data, guild_id=thread.guild_id, channel_id=thread.parent_id)
