"""What the bot asks for when a server invites it; the README's invite link matches this."""

from __future__ import annotations

import discord

INVITE_SCOPES = ("bot", "applications.commands")
INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    embed_links=True,
    read_message_history=True,
    add_reactions=True,
    # /ask opens a thread for each question in a text channel.
    create_public_threads=True,
)


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(
        application_id, permissions=INVITE_PERMISSIONS, scopes=INVITE_SCOPES
    )
