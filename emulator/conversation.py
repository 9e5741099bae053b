"""Acting as users in a conversation beyond posting: threads, reactions and deleting messages.

These are the things a bot without the message content intent can still follow from gateway
events alone. Like ``UserActions`` they raise ``ValueError``/``PermissionError`` for what the
Discord client would not let the user do, and otherwise change the world and dispatch the events
Discord sends (see ``threads``, ``reactions`` and ``messages`` for the payloads).
"""

from __future__ import annotations

from collections.abc import Sequence

from .messages import MessageService
from .permissions import P
from .reactions import ReactionService, find_reaction, parse_emoji
from .state import THREAD_STARTER_MESSAGE, Channel, Message
from .threads import ThreadService
from .world import World


class ConversationActions:
    """Mixed into ``DiscordEmulator`` next to ``UserActions``; relies on the services it creates."""

    world: World
    message_service: MessageService
    thread_service: ThreadService
    reaction_service: ReactionService

    async def create_thread(
        self,
        channel_id: int,
        user_id: int,
        name: str,
        message_id: int | None = None,
        *,
        auto_archive_duration: int = 1440,
    ) -> Channel:
        """A member starts a public thread in a text channel, from ``message_id`` or without one.

        Needs VIEW_CHANNEL and CREATE_PUBLIC_THREADS (and READ_MESSAGE_HISTORY to start it from
        a message). Returns the thread; messages are posted in it with ``send_message(thread.id,
        ...)``.
        """
        parent = self.world.require_channel(channel_id)
        creator = self.world.require_user(user_id)
        if parent.guild_id is None:
            raise ValueError("threads only exist in guild text channels")
        permissions = self.world.participant_permissions(parent, user_id)
        needed = P.VIEW_CHANNEL | P.CREATE_PUBLIC_THREADS
        source = None
        if message_id is not None:
            source = self._message_in(parent, message_id)
            needed |= P.READ_MESSAGE_HISTORY
        if permissions & needed != needed:
            raise PermissionError(f"user {user_id} may not start threads in channel {channel_id}")
        return self.thread_service.start(
            parent, creator, name, source=source, auto_archive_duration=auto_archive_duration
        )

    async def add_reaction(
        self, channel_id: int, message_id: int, user_id: int, emoji: str
    ) -> bool:
        """A user reacts with ``emoji`` (``"🔥"``, or a custom ``"name:id"``/``"a:name:id"``).

        Returns False, and dispatches nothing, when the user already reacted with that emoji.
        Needs VIEW_CHANNEL and READ_MESSAGE_HISTORY, and ADD_REACTIONS to be the first to use
        an emoji on the message.
        """
        channel = self.world.require_channel(channel_id)
        message = self._message_in(channel, message_id)
        parsed = parse_emoji(emoji)
        permissions = self.world.participant_permissions(channel, user_id)
        if permissions & (P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY) != (
            P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY
        ):
            raise PermissionError(f"user {user_id} cannot react in channel {channel_id}")
        if find_reaction(message, parsed) is None and not permissions & P.ADD_REACTIONS:
            raise PermissionError(f"user {user_id} may not add new reactions in {channel_id}")
        return self.reaction_service.add(message, user_id, parsed)

    async def remove_reaction(
        self, channel_id: int, message_id: int, user_id: int, emoji: str
    ) -> bool:
        """A user takes back their reaction; False (no event) if they had not reacted so."""
        channel = self.world.require_channel(channel_id)
        message = self._message_in(channel, message_id)
        parsed = parse_emoji(emoji)
        if not self.world.participant_permissions(channel, user_id) & P.VIEW_CHANNEL:
            raise PermissionError(f"user {user_id} cannot see channel {channel_id}")
        return self.reaction_service.remove(message, user_id, parsed)

    async def delete_message(self, message_id: int, user_id: int) -> None:
        """The author deletes their message, or a member with MANAGE_MESSAGES deletes anyone's
        (MESSAGE_DELETE). Thread starter messages cannot be deleted."""
        message = self.world.messages.get(message_id)
        if message is None or message.deleted or message.ephemeral:
            raise ValueError(f"unknown message {message_id}")
        channel = self.world.require_channel(message.channel_id)
        permissions = self.world.participant_permissions(channel, user_id)
        if not permissions & P.VIEW_CHANNEL:
            raise PermissionError(f"user {user_id} cannot see channel {channel.id}")
        if message.type == THREAD_STARTER_MESSAGE:
            raise ValueError("a thread starter message cannot be deleted")
        moderator = channel.guild_id is not None and permissions & P.MANAGE_MESSAGES
        if message.author_id != user_id and not moderator:
            raise PermissionError(f"user {user_id} may not delete message {message_id}")
        self.message_service.delete(message)

    async def bulk_delete_messages(
        self, channel_id: int, message_ids: Sequence[int], user_id: int
    ) -> None:
        """A moderator's tool (another bot) purges 2-100 messages: one MESSAGE_DELETE_BULK."""
        channel = self.world.require_channel(channel_id)
        if channel.guild_id is None:
            raise ValueError("bulk deletes only work in guild channels")
        if not 2 <= len(set(message_ids)) == len(message_ids) <= 100:
            raise ValueError("give 2 to 100 distinct message ids")
        if not self.world.participant_permissions(channel, user_id) & P.MANAGE_MESSAGES:
            raise PermissionError(f"user {user_id} lacks MANAGE_MESSAGES in {channel_id}")
        messages = [self._message_in(channel, message_id) for message_id in message_ids]
        self.message_service.bulk_delete(channel, messages)

    def _message_in(self, channel: Channel, message_id: int) -> Message:
        message = self.world.messages.get(message_id)
        if message is None or message.deleted or message.ephemeral:
            raise ValueError(f"unknown message {message_id}")
        if message.channel_id != channel.id:
            raise ValueError(f"message {message_id} is not in channel {channel.id}")
        return message
