"""Permission bits and Discord's permission resolution algorithm.

Mirrors the documented order: @everyone role, then the member's roles (OR-ed), owner and
ADMINISTRATOR short-circuits, then channel overwrites (@everyone, roles combined, member) and the
implicit rules (no VIEW_CHANNEL means nothing; no SEND_MESSAGES drops the send-dependent bits).
Threads use their parent's overwrites, and there SEND_MESSAGES_IN_THREADS is the bit that counts
(docs: topics/threads, Permissions).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class P(enum.IntFlag):
    """Permission flags (subset of Discord's, every bit the emulator reasons about)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    PRIORITY_SPEAKER = 1 << 8
    STREAM = 1 << 9
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    VIEW_GUILD_INSIGHTS = 1 << 19
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    MUTE_MEMBERS = 1 << 22
    DEAFEN_MEMBERS = 1 << 23
    MOVE_MEMBERS = 1 << 24
    USE_VAD = 1 << 25
    CHANGE_NICKNAME = 1 << 26
    MANAGE_NICKNAMES = 1 << 27
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    MANAGE_GUILD_EXPRESSIONS = 1 << 30
    USE_APPLICATION_COMMANDS = 1 << 31
    REQUEST_TO_SPEAK = 1 << 32
    MANAGE_EVENTS = 1 << 33
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    USE_EXTERNAL_STICKERS = 1 << 37
    SEND_MESSAGES_IN_THREADS = 1 << 38
    USE_EMBEDDED_ACTIVITIES = 1 << 39
    MODERATE_MEMBERS = 1 << 40
    VIEW_CREATOR_MONETIZATION_ANALYTICS = 1 << 41
    USE_SOUNDBOARD = 1 << 42
    CREATE_GUILD_EXPRESSIONS = 1 << 43
    CREATE_EVENTS = 1 << 44
    USE_EXTERNAL_SOUNDS = 1 << 45
    SEND_VOICE_MESSAGES = 1 << 46
    SEND_POLLS = 1 << 49
    USE_EXTERNAL_APPS = 1 << 50
    PIN_MESSAGES = 1 << 51
    BYPASS_SLOWMODE = 1 << 52


ALL_PERMISSIONS = 0
for _flag in P:
    ALL_PERMISSIONS |= _flag.value

# What a freshly created guild's @everyone role gets.
DEFAULT_EVERYONE_PERMISSIONS = int(
    P.CREATE_INSTANT_INVITE
    | P.ADD_REACTIONS
    | P.STREAM
    | P.VIEW_CHANNEL
    | P.SEND_MESSAGES
    | P.SEND_TTS_MESSAGES
    | P.EMBED_LINKS
    | P.ATTACH_FILES
    | P.READ_MESSAGE_HISTORY
    | P.MENTION_EVERYONE
    | P.USE_EXTERNAL_EMOJIS
    | P.CONNECT
    | P.SPEAK
    | P.USE_VAD
    | P.CHANGE_NICKNAME
    | P.USE_APPLICATION_COMMANDS
    | P.REQUEST_TO_SPEAK
    | P.CREATE_PUBLIC_THREADS
    | P.CREATE_PRIVATE_THREADS
    | P.USE_EXTERNAL_STICKERS
    | P.SEND_MESSAGES_IN_THREADS
    | P.USE_EMBEDDED_ACTIVITIES
    | P.USE_SOUNDBOARD
    | P.USE_EXTERNAL_SOUNDS
    | P.SEND_VOICE_MESSAGES
    | P.SEND_POLLS
    | P.USE_EXTERNAL_APPS
)

# Text permissions that are meaningless (and removed) without SEND_MESSAGES.
_SEND_DEPENDENT = int(
    P.SEND_TTS_MESSAGES | P.MENTION_EVERYONE | P.EMBED_LINKS | P.ATTACH_FILES | P.SEND_POLLS
)


@dataclass(frozen=True)
class OverwriteBits:
    allow: int
    deny: int


def base_permissions(everyone: int, role_permissions: Iterable[int], *, is_owner: bool) -> int:
    """Guild-level permissions of a member."""
    if is_owner:
        return ALL_PERMISSIONS
    permissions = everyone
    for bits in role_permissions:
        permissions |= bits
    if permissions & P.ADMINISTRATOR:
        return ALL_PERMISSIONS
    return permissions


def channel_permissions(
    base: int,
    everyone_overwrite: OverwriteBits | None,
    role_overwrites: Iterable[OverwriteBits],
    member_overwrite: OverwriteBits | None,
    *,
    send_bit: int = P.SEND_MESSAGES,
) -> int:
    """Apply a channel's overwrites to guild-level permissions, with Discord's implicit rules.

    ``send_bit`` is the permission that allows talking there: SEND_MESSAGES, or
    SEND_MESSAGES_IN_THREADS for a thread.
    """
    if base & P.ADMINISTRATOR:
        return ALL_PERMISSIONS
    permissions = base
    if everyone_overwrite is not None:
        permissions &= ~everyone_overwrite.deny
        permissions |= everyone_overwrite.allow
    allow = deny = 0
    for overwrite in role_overwrites:
        allow |= overwrite.allow
        deny |= overwrite.deny
    permissions &= ~deny
    permissions |= allow
    if member_overwrite is not None:
        permissions &= ~member_overwrite.deny
        permissions |= member_overwrite.allow
    if not permissions & P.VIEW_CHANNEL:
        return 0
    if not permissions & send_bit:
        permissions &= ~_SEND_DEPENDENT
    return permissions


def has(permissions: int, *needed: P) -> bool:
    return all(permissions & flag == flag for flag in needed)
