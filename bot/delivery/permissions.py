"""What the bot needs in a channel before it posts there, checked from the cache first.

A post into a channel where the bot lacks a permission comes back as 403, and Discord bans bots
that collect 10,000 of those in 10 minutes. So the bot looks before it leaps whenever the
channel is in its cache.
"""

from __future__ import annotations

import discord


def missing_post_permissions(
    permissions: discord.Permissions, *, in_thread: bool, opens_thread: bool = False
) -> list[str]:
    """What the bot lacks to post an embed there, in the words of Discord's settings.

    Read Message History is needed too: without it Discord answers the history lookup that
    keeps a post from going out twice after a crash with an empty list, not an error. Discord
    reports Embed Links as missing whenever Send Messages is, so it is named only when it is the
    one thing to fix.
    """
    send = "Send Messages in Threads" if in_thread else "Send Messages"
    can_send = permissions.send_messages_in_threads if in_thread else permissions.send_messages
    missing = [
        name
        for name, granted in (("View Channel", permissions.view_channel), (send, can_send))
        if not granted
    ]
    if not missing and not permissions.embed_links:
        missing.append("Embed Links")
    if not permissions.read_message_history:
        missing.append("Read Message History")
    if opens_thread and not in_thread and not permissions.create_public_threads:
        missing.append("Create Public Threads")
    return missing


def missing_in(
    channel: object, me: discord.Member | None, *, opens_thread: bool = False
) -> list[str] | None:
    """What the bot lacks in a cached channel; None when the cache can't tell."""
    if me is None or not isinstance(channel, discord.abc.GuildChannel | discord.Thread):
        return None
    return missing_post_permissions(
        channel.permissions_for(me),
        in_thread=isinstance(channel, discord.Thread),
        opens_thread=opens_thread and not isinstance(channel, discord.ForumChannel),
    )
