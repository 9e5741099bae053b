"""Public threads in text channels: starting them, and the events and system messages Discord sends.

A thread is a channel (type 11 PUBLIC_THREAD) whose ``parent_id`` is the text channel; messages
posted in it have the thread's id as ``channel_id``. What starting one produces, in order
(docs: resources/channel Start Thread from Message / without Message, resources/message Message
Reference Content Attribution, topics/threads New Message Types):

- from a message: THREAD_CREATE (``newly_created``), MESSAGE_UPDATE of that message (flag
  HAS_THREAD, ``thread``), then MESSAGE_CREATE of a THREAD_STARTER_MESSAGE (type 21) inside the
  thread, with no content and a ``message_reference`` back to the message; the thread has the
  message's id;
- without a message: THREAD_CREATE, then a THREAD_CREATED (type 18) message in the parent
  channel, authored by the starter, whose content is the thread's name and whose
  ``message_reference`` points at the thread (``channel_id``, ``guild_id``, no ``message_id``).
"""

from __future__ import annotations

from .gateway import GatewayHub
from .messages import MessageService
from .snowflakes import utcnow
from .state import (
    HAS_THREAD,
    PUBLIC_THREAD,
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
    ) -> Channel:
        """Create a public thread in ``parent`` (from ``source`` if given) and announce it.

        Callers check permissions; this raises ``ValueError`` for what Discord refuses whoever
        asks: a parent that is not a text channel, a bad name or duration, a message that is
        not in the parent or already has a thread.
        """
        if parent.type != TEXT_CHANNEL or parent.guild_id is None:
            raise ValueError(f"channel {parent.id} is not a guild text channel")
        if not 1 <= len(name.strip()) <= NAME_LIMIT:
            raise ValueError(f"a thread name has 1 to {NAME_LIMIT} characters")
        if auto_archive_duration not in AUTO_ARCHIVE_DURATIONS:
            raise ValueError(f"auto_archive_duration must be one of {AUTO_ARCHIVE_DURATIONS}")
        if source is not None:
            if source.channel_id != parent.id or source.deleted or source.ephemeral:
                raise ValueError(f"message {source.id} is not in channel {parent.id}")
            if source.id in self.world.channels:
                raise ValueError(f"message {source.id} already started a thread")
        now = utcnow()
        thread = Channel(
            id=source.id if source is not None else self.world.ids.next(),
            guild_id=parent.guild_id,
            name=name.strip(),
            type=PUBLIC_THREAD,
            parent_id=parent.id,
            owner_id=creator.id,
            thread=ThreadState(created_at=now, auto_archive_duration=auto_archive_duration),
        )
        assert thread.thread is not None
        thread.thread.join(creator.id, now)
        self.world.add_thread(thread)
        self.hub.emit(
            "THREAD_CREATE",
            {**thread.to_payload(), "newly_created": True},
            guild_id=thread.guild_id,
            channel_id=thread.id,
        )
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
        else:
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
