"""REST routes for threads the bot starts or changes: from a message, without one, forum posts.

Checks follow Discord's order, like the other route modules: the channel (10003) and message
(10008) exist, the bot can see the channel (50001), the channel type allows it (50024, 50003),
the bot has the permission (50013), then the body is valid (50035). Which permission counts
(docs: resources/channel Start Thread from Message / without Message / in Forum or Media Channel,
Modify Channel; topics/threads Permissions and Editing & Deleting Threads):

- a public thread in a text channel: CREATE_PUBLIC_THREADS (and READ_MESSAGE_HISTORY to start it
  from a message); a private one: CREATE_PRIVATE_THREADS. Without ``type`` Discord still makes a
  private thread, as documented; discord.py always sends the type.
- a forum post: SEND_MESSAGES in the forum (CREATE_PUBLIC_THREADS is ignored), EMBED_LINKS for
  its embeds, ATTACH_FILES for files, MANAGE_THREADS for moderated tags.
- editing a thread: its creator or MANAGE_THREADS for the name, archiving, the duration and the
  tags; MANAGE_THREADS alone for ``locked``, ``rate_limit_per_user`` and pinning; in a locked
  thread only MANAGE_THREADS.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import errors
from .errors import APIError
from .permissions import P
from .rest import bot_app, emulator, files, json_response
from .routes_core import (
    apply_embed_permission,
    bot_channel,
    channel_message,
    object_body,
)
from .state import (
    IS_COMPONENTS_V2,
    PINNED,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    SUPPRESS_EMBEDS,
    SUPPRESS_NOTIFICATIONS,
    Channel,
    Payload,
)
from .threads import (
    Refused,
    TagForbidden,
    check_applied_tags,
    check_auto_archive_duration,
    check_name,
    check_slowmode,
    thread_archived,
)
from .validation import validate_message_body

routes = web.RouteTableDef()

# The forum post message params (everything else a message body may hold is ignored there).
FORUM_MESSAGE_FIELDS = (
    "content",
    "embeds",
    "allowed_mentions",
    "components",
    "sticker_ids",
    "attachments",
    "flags",
)
FORUM_MESSAGE_FLAGS = SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2
WRONG_CHANNEL_TYPE = (400, 50024, "Cannot execute action on this channel type")


def _thread_parent(channel: Channel) -> None:
    """Threads start in guild text or forum channels only."""
    if channel.guild_id is None:
        raise APIError(403, 50003, "Cannot execute action on a DM channel")
    if channel.is_thread:
        raise APIError(*WRONG_CHANNEL_TYPE)


def _thread_options(data: dict[str, Any]) -> tuple[str, int, int]:
    """The name, auto_archive_duration (1440 when absent) and rate_limit_per_user of a body."""
    name = check_name(data.get("name"))
    duration = data.get("auto_archive_duration")
    slowmode = data.get("rate_limit_per_user")
    return (
        name,
        1440 if duration is None else check_auto_archive_duration(duration),
        0 if slowmode is None else check_slowmode(slowmode),
    )


def _created(thread: Channel, extra: Payload | None = None) -> web.Response:
    return json_response(201, {**thread.to_payload(), **(extra or {})})


@routes.post("/channels/{channel_id}/messages/{message_id}/threads")
async def start_thread_from_message(request: web.Request) -> web.Response:
    emu = emulator(request)
    channel, permissions = bot_channel(request)
    _thread_parent(channel)
    if channel.is_forum:
        raise APIError(*WRONG_CHANNEL_TYPE)
    source = channel_message(request, channel)
    needed = P.CREATE_PUBLIC_THREADS | P.READ_MESSAGE_HISTORY
    if permissions & needed != needed:
        raise errors.missing_permissions()
    data = object_body(request)
    try:
        name, duration, slowmode = _thread_options(data)
        thread = emu.thread_service.start(
            channel,
            bot_app(request).bot_user,
            name,
            source=source,
            auto_archive_duration=duration,
            rate_limit_per_user=slowmode,
        )
    except Refused as refused:
        raise refused.error from None
    return _created(thread)


@routes.post("/channels/{channel_id}/threads")
async def start_thread(request: web.Request) -> web.Response:
    channel, permissions = bot_channel(request)
    _thread_parent(channel)
    if channel.is_forum:
        return await _start_forum_post(request, channel, permissions)
    data = object_body(request)
    thread_type = data.get("type", PRIVATE_THREAD)
    if thread_type not in (PUBLIC_THREAD, PRIVATE_THREAD):
        raise errors.form_error(("type",), "BASE_TYPE_CHOICES", "Value must be one of {11, 12}.")
    needed = P.CREATE_PUBLIC_THREADS if thread_type == PUBLIC_THREAD else P.CREATE_PRIVATE_THREADS
    if not permissions & needed:
        raise errors.missing_permissions()
    invitable = data.get("invitable", True)
    try:
        name, duration, slowmode = _thread_options(data)
        thread = emulator(request).thread_service.start(
            channel,
            bot_app(request).bot_user,
            name,
            auto_archive_duration=duration,
            thread_type=thread_type,
            rate_limit_per_user=slowmode,
            invitable=invitable is not False,
        )
    except Refused as refused:
        raise refused.error from None
    return _created(thread)


async def _start_forum_post(request: web.Request, forum: Channel, permissions: int) -> web.Response:
    emu = emulator(request)
    if not permissions & P.SEND_MESSAGES:
        raise errors.missing_permissions()
    data = object_body(request)
    message = data.get("message")
    if message is None:
        raise errors.form_error(("message",), "BASE_TYPE_REQUIRED", "This field is required")
    if not isinstance(message, dict):
        raise errors.not_an_object(("message",))
    message = {k: v for k, v in message.items() if k in FORUM_MESSAGE_FIELDS}
    uploaded = files(request)
    try:
        validate_message_body(message, allowed_flags=FORUM_MESSAGE_FLAGS, files=len(uploaded))
    except APIError as error:
        if error.errors:
            raise errors.invalid_form_body({"message": error.errors}) from None
        raise
    if uploaded and not permissions & P.ATTACH_FILES:
        raise errors.missing_permissions()
    message = apply_embed_permission(message, permissions, len(uploaded))
    try:
        thread, starter = emu.thread_service.start_post(
            forum,
            bot_app(request).bot_user,
            check_name(data.get("name")),
            body=message,
            files=uploaded,
            author_permissions=permissions,
            applied_tags=data.get("applied_tags"),
            moderator=bool(permissions & P.MANAGE_THREADS),
            auto_archive_duration=data.get("auto_archive_duration"),
            rate_limit_per_user=data.get("rate_limit_per_user"),
        )
    except Refused as refused:
        raise refused.error from None
    except TagForbidden:
        raise errors.missing_permissions() from None
    me = bot_app(request).bot_user.id
    return _created(thread, {"message": starter.to_payload(viewer_id=me)})


@routes.patch("/channels/{channel_id}")
async def modify_channel(request: web.Request) -> web.Response:
    """Modify a thread; other channels need MANAGE_CHANNELS, and the emulator does not change
    them (it answers so rather than pretending)."""
    emu = emulator(request)
    channel, permissions = bot_channel(request)
    state = channel.thread
    if state is None:
        if channel.guild_id is None or not permissions & P.MANAGE_CHANNELS:
            raise errors.missing_permissions()
        raise APIError(400, 0, "emulator: only threads can be modified")
    data = object_body(request)
    me = bot_app(request).bot_user.id
    moderator = bool(permissions & P.MANAGE_THREADS)
    owner = channel.owner_id == me
    if state.archived and data.get("archived") is not False:
        raise thread_archived()
    if state.locked and not moderator:
        raise thread_archived() if state.archived else errors.missing_permissions()
    if not moderator and (
        {"locked", "rate_limit_per_user", "flags"} & set(data)
        or (not owner and {"name", "auto_archive_duration", "applied_tags"} & set(data))
        or (not owner and data.get("archived") is True)
        or (not owner and data.get("archived") is False and me not in state.members)
    ):
        raise errors.missing_permissions()
    parent = emu.world.channels.get(channel.parent_id or 0)
    changes: dict[str, Any] = {}
    try:
        if "name" in data:
            changes["name"] = check_name(data["name"])
        if data.get("auto_archive_duration") is not None:
            changes["auto_archive_duration"] = check_auto_archive_duration(
                data["auto_archive_duration"]
            )
        if data.get("rate_limit_per_user") is not None:
            changes["rate_limit_per_user"] = check_slowmode(data["rate_limit_per_user"])
        for key in ("archived", "locked"):
            if isinstance(data.get(key), bool):
                changes[key] = data[key]
        if "applied_tags" in data and parent is not None and parent.is_forum:
            changes["applied_tags"] = check_applied_tags(
                parent,
                data["applied_tags"] or [],
                moderator=moderator,
                before=state.applied_tags or [],
            )
        if "flags" in data:
            changes["pinned"] = _pinned(parent, data["flags"])
    except Refused as refused:
        raise refused.error from None
    except TagForbidden:
        raise errors.missing_permissions() from None
    emu.thread_service.update(channel, **changes)
    payload = channel.to_payload()
    if me in state.members:
        payload["member"] = state.member_payload(channel.id, me)
    return json_response(200, payload)


def _pinned(parent: Channel | None, flags: Any) -> bool:
    """PINNED is the one flag a thread takes, and only a forum post."""
    forum_post = parent is not None and parent.is_forum
    if (
        isinstance(flags, bool)
        or not isinstance(flags, int)
        or flags & ~PINNED
        or (flags & PINNED and not forum_post)
    ):
        raise Refused(
            "only PINNED can be set, on a forum post",
            errors.form_error(("flags",), "CHANNEL_FLAGS_INVALID", "Invalid channel flags"),
        )
    return bool(flags & PINNED)
