"""What members do in the server anyway, as the bot sees it: metadata only, never text.

The tracking cog turns gateway events into these plain values; the ingest buffers and stores
them. Nothing here holds what a message says: ids, authors, places and times are all the
product needs (and all the bot receives without the privileged message-content intent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Author:
    """A member as a signal names them, with the name to keep on their row."""

    user_id: int
    display_name: str


@dataclass(frozen=True, slots=True)
class MessageSeen:
    """A reply, or a message in a thread (other messages are not recorded)."""

    server_id: int
    server_name: str
    channel_id: int
    message_id: int
    author: Author
    at: datetime
    # The author of the message replied to, when it is a reply.
    reply_to: int | None = None
    # Set when the message is in a thread (then ``channel_id`` is the thread).
    in_thread: bool = False
    # Who started the thread: the one answered when nobody has spoken there yet.
    thread_owner_id: int | None = None


@dataclass(frozen=True, slots=True)
class ReactionAdded:
    server_id: int
    server_name: str
    channel_id: int
    message_id: int
    reactor: Author
    message_author_id: int
    emoji: str
    at: datetime
    # The reacted message is one of this bot's own posts: a reaction to a resource card credits
    # the member who shared it; to anything else the bot posted, nobody.
    on_bot_post: bool = False


@dataclass(frozen=True, slots=True)
class ReactionRemoved:
    server_id: int
    message_id: int
    user_id: int
    emoji: str


@dataclass(frozen=True, slots=True)
class MessagesDeleted:
    server_id: int
    message_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ThreadCreated:
    server_id: int
    server_name: str
    thread_id: int
    owner: Author
    at: datetime


Signal = MessageSeen | ReactionAdded | ReactionRemoved | MessagesDeleted | ThreadCreated
