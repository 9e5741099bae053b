"""What each kind of outbox post and member answer looks like, filled in by the cogs.

Delivery is core machinery and knows no feature; each cog says how its posts and answers are
drawn from storage when it loads. Kept apart from the workers so cogs can load (and a test can
walk the command tree) before there is a database to deliver from.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import discord

from bot.services.answers import OwedAnswer
from bot.services.outbox import PostClaim, PostStatus


@dataclass(frozen=True)
class OutgoingPost:
    """A rendered post. ``marker`` must appear in a component custom id or the embed footer."""

    marker: str
    content: str | None = None
    embed: discord.Embed | None = None
    view: discord.ui.View | None = None
    # Open a thread with this name on the post (in a forum: the post is a new forum post).
    thread_name: str | None = None
    # In a forum, apply the forum's tags with these names (compared case- and dash-blind).
    forum_tags: tuple[str, ...] = ()
    # The only members this post may notify; nobody by default, never roles or @everyone.
    pings: tuple[int, ...] = ()
    # Images to attach, as (file name, bytes); an embed shows one with attachment://name.
    files: tuple[tuple[str, bytes], ...] = ()

    def attachments(self) -> list[discord.File]:
        """Fresh file objects for one attempt (discord.py reads a file once)."""
        return [discord.File(io.BytesIO(data), filename=name) for name, data in self.files]

    @property
    def allowed_mentions(self) -> discord.AllowedMentions:
        if not self.pings:
            return discord.AllowedMentions.none()
        return discord.AllowedMentions(
            everyone=False,
            roles=False,
            replied_user=False,
            users=[discord.Object(user_id) for user_id in self.pings],
        )


# None: what the post was about is gone, so there is nothing to post.
PostRenderer = Callable[[PostClaim], Awaitable[OutgoingPost | None]]
# The answer's text, given the current state of the post it talks about (if any).
AnswerRenderer = Callable[[OwedAnswer, PostStatus | None], Awaitable[str]]


@dataclass
class Renderers:
    posts: dict[str, PostRenderer] = field(default_factory=dict)
    answers: dict[str, AnswerRenderer] = field(default_factory=dict)
