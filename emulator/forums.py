"""Acting as members in forum channels: starting a post (a thread with its first message).

Like ``UserActions`` and ``ConversationActions``, this raises ``ValueError``/``PermissionError``
for what the Discord client would not let the member do, and otherwise changes the world and
dispatches what Discord sends: THREAD_CREATE (with ``applied_tags``) then MESSAGE_CREATE of the
post's first message, which has the thread's id (see ``threads``).
"""

from __future__ import annotations

from collections.abc import Sequence

from .permissions import P
from .state import Channel, Payload
from .threads import ThreadService
from .validation import CONTENT_LIMIT
from .world import World


class ForumActions:
    """Mixed into ``DiscordEmulator``; relies on the services it creates."""

    world: World
    thread_service: ThreadService

    async def create_forum_post(
        self,
        forum_id: int,
        user_id: int,
        name: str,
        content: str,
        tags: Sequence[str | int] = (),
        *,
        embeds: Sequence[Payload] = (),
        auto_archive_duration: int | None = None,
    ) -> Channel:
        """A member posts in a forum: ``name`` is the post's title, ``content`` its first
        message, ``tags`` names (or ids) of the forum's tags.

        Needs VIEW_CHANNEL and SEND_MESSAGES in the forum (MANAGE_THREADS for a moderated tag).
        Returns the thread; its first message is ``get_message(thread.id)``, and replies are
        ``send_message(thread.id, ...)``.
        """
        forum = self.world.require_channel(forum_id)
        author = self.world.require_user(user_id)
        if forum.forum is None:
            raise ValueError(f"channel {forum_id} is not a forum channel")
        permissions = self.world.participant_permissions(forum, user_id)
        if permissions & (P.VIEW_CHANNEL | P.SEND_MESSAGES) != P.VIEW_CHANNEL | P.SEND_MESSAGES:
            raise PermissionError(f"user {user_id} may not post in forum {forum_id}")
        if len(content) > CONTENT_LIMIT:
            raise ValueError(f"content is longer than {CONTENT_LIMIT} characters")
        if not content.strip() and not embeds:
            raise ValueError("a forum post needs a first message")
        tag_ids = []
        for tag in tags:
            found = forum.forum.tag_named(tag) if isinstance(tag, str) else forum.forum.tag(tag)
            if found is None:
                names = [t.name for t in forum.forum.available_tags]
                raise ValueError(f"forum {forum_id} has no tag {tag!r} (its tags: {names})")
            tag_ids.append(found.id)
        body: Payload = {"content": content}
        if embeds:
            body["embeds"] = list(embeds)
        thread, _ = self.thread_service.start_post(
            forum,
            author,
            name,
            body=body,
            author_permissions=permissions,
            applied_tags=tag_ids,
            moderator=bool(permissions & P.MANAGE_THREADS),
            auto_archive_duration=auto_archive_duration,
        )
        return thread
