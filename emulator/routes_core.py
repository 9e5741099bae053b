"""REST routes for the bot's identity, the gateway URL, guilds, channels and channel messages.

Each handler checks what Discord checks, in Discord's order: the resource exists (10003 /
10004 / 10008), the bot can see it (50001 Missing Access), then has the permission the action
needs (50013 Missing Permissions), then the body is valid (50035 / 50006).
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from . import errors
from .messages import check_edit_keeps_content
from .permissions import P
from .rest import (
    body,
    bot_app,
    emulator,
    files,
    guild_for_bot,
    json_response,
    no_content,
    query_flag,
    snowflake,
)
from .state import (
    IS_COMPONENTS_V2,
    SUPPRESS_EMBEDS,
    SUPPRESS_NOTIFICATIONS,
    THREAD_STARTER_MESSAGE,
    Channel,
    Message,
)
from .threads import thread_archived
from .validation import message_has_content, validate_message_body

IS_VOICE_MESSAGE = 1 << 13
CHANNEL_MESSAGE_FLAGS = (
    SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2 | IS_VOICE_MESSAGE
)

routes = web.RouteTableDef()


# -- identity and gateway ----------------------------------------------------------------------


@routes.get("/users/@me")
async def get_current_user(request: web.Request) -> web.Response:
    app = bot_app(request)
    payload = app.bot_user.to_payload()
    payload.update({"verified": True, "mfa_enabled": False, "email": None, "locale": "en-US"})
    return json_response(200, payload)


@routes.post("/users/@me/channels")
async def create_dm(request: web.Request) -> web.Response:
    app = bot_app(request)
    world = emulator(request).world
    data = body(request)
    try:
        recipient_id = int(data["recipient_id"])
    except (TypeError, KeyError, ValueError):
        raise errors.form_error(
            ("recipient_id",), "BASE_TYPE_REQUIRED", "This field is required"
        ) from None
    if recipient_id not in world.users or recipient_id == app.bot_user.id:
        raise errors.APIError(400, 50033, "Invalid Recipient(s)")
    channel = world.dm_channel(app.bot_user.id, recipient_id)
    return json_response(200, _channel_payload(request, channel))


def _channel_payload(request: web.Request, channel: Channel) -> dict[str, Any]:
    payload = channel.to_payload()
    if channel.guild_id is None:
        world = emulator(request).world
        me = bot_app(request).bot_user.id
        payload["recipients"] = [
            world.users[u].to_payload() for u in channel.recipient_ids if u != me
        ]
    return payload


@routes.get("/users/{user_id}")
async def get_user(request: web.Request) -> web.Response:
    bot_app(request)
    user_id = snowflake(request, "user_id", errors.unknown_user())
    user = emulator(request).world.users.get(user_id)
    if user is None:
        raise errors.unknown_user()
    return json_response(200, user.to_payload())


@routes.get("/oauth2/applications/@me")
@routes.get("/applications/@me")
async def get_current_application(request: web.Request) -> web.Response:
    app = bot_app(request)
    world = emulator(request).world
    owner = world.users.get(app.owner_id) if app.owner_id is not None else None
    return json_response(200, app.to_payload(owner))


@routes.get("/gateway")
async def get_gateway(request: web.Request) -> web.Response:
    return json_response(200, {"url": emulator(request).gateway_base_url})


@routes.get("/gateway/bot")
async def get_gateway_bot(request: web.Request) -> web.Response:
    bot_app(request)
    return json_response(
        200,
        {
            "url": emulator(request).gateway_base_url,
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 14_400_000,
                "max_concurrency": 1,
            },
        },
    )


# -- guilds ------------------------------------------------------------------------------------


@routes.get("/guilds/{guild_id}")
async def get_guild(request: web.Request) -> web.Response:
    guild = guild_for_bot(request)
    payload = guild.to_payload()
    if query_flag(request, "with_counts"):
        payload["approximate_member_count"] = len(guild.members)
        payload["approximate_presence_count"] = 0
    return json_response(200, payload)


@routes.get("/guilds/{guild_id}/channels")
async def get_guild_channels(request: web.Request) -> web.Response:
    guild = guild_for_bot(request)
    return json_response(200, [c.to_payload() for c in guild.channels.values()])


@routes.get("/guilds/{guild_id}/roles")
async def get_guild_roles(request: web.Request) -> web.Response:
    guild = guild_for_bot(request)
    return json_response(200, [r.to_payload() for r in guild.roles.values()])


@routes.get("/guilds/{guild_id}/members/{user_id}")
async def get_guild_member(request: web.Request) -> web.Response:
    guild = guild_for_bot(request)
    user_id = snowflake(request, "user_id", errors.unknown_user())
    if user_id not in emulator(request).world.users:
        raise errors.unknown_user()
    member = guild.members.get(user_id)
    if member is None:
        raise errors.unknown_member()
    return json_response(200, member.to_payload())


def _limit_not_int() -> errors.APIError:
    """A paging parameter (limit, after, before, around) that is not an int; reported at limit."""
    return errors.form_error(("limit",), "NUMBER_TYPE_COERCE", "Value is not int.")


def query_limit(request: web.Request, *, default: int, maximum: int) -> int:
    """The ``limit`` query parameter of a listing: an int from 1 to ``maximum``."""
    try:
        limit = int(request.query.get("limit", str(default)))
    except ValueError:
        raise _limit_not_int() from None
    if not 1 <= limit <= maximum:
        raise errors.form_error(
            ("limit",), "NUMBER_TYPE_MAX", f"int value should be between 1 and {maximum}."
        )
    return limit


@routes.get("/guilds/{guild_id}/members")
async def list_guild_members(request: web.Request) -> web.Response:
    guild = guild_for_bot(request)
    app = bot_app(request)
    if not app.privileged_intents & (1 << 1):
        raise errors.missing_access()
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        raise _limit_not_int() from None
    limit = query_limit(request, default=1, maximum=1000)
    members = sorted(
        (m for m in guild.members.values() if m.user.id > after), key=lambda m: m.user.id
    )
    return json_response(200, [m.to_payload() for m in members[:limit]])


# -- channels and messages ---------------------------------------------------------------------


def bot_channel(request: web.Request) -> tuple[Channel, int]:
    """The path's channel (10003 when unknown) and the bot's permissions in it."""
    channel_id = snowflake(request, "channel_id", errors.unknown_channel())
    channel = emulator(request).world.channels.get(channel_id)
    if channel is None:
        raise errors.unknown_channel()
    return channel, _bot_channel_permissions(request, channel)


def _bot_channel_permissions(request: web.Request, channel: Channel) -> int:
    """The bot's permissions in the channel; 50001 when it cannot see the channel at all."""
    app = bot_app(request)
    world = emulator(request).world
    if channel.guild_id is None:
        if app.bot_user.id not in channel.recipient_ids:
            raise errors.missing_access()
        return int(
            P.VIEW_CHANNEL
            | P.SEND_MESSAGES
            | P.EMBED_LINKS
            | P.ATTACH_FILES
            | P.READ_MESSAGE_HISTORY
            | P.MENTION_EVERYONE
        )
    if world.member(channel.guild_id, app.bot_user.id) is None:
        raise errors.missing_access()
    permissions = world.channel_permissions(channel.id, app.bot_user.id)
    if not permissions & P.VIEW_CHANNEL:
        raise errors.missing_access()
    return permissions


@routes.get("/channels/{channel_id}")
async def get_channel(request: web.Request) -> web.Response:
    channel, _ = bot_channel(request)
    payload = _channel_payload(request, channel)
    me = bot_app(request).bot_user.id
    if channel.thread is not None and me in channel.thread.members:
        # Getting a thread includes the bot's thread member object once it joined.
        payload["member"] = channel.thread.member_payload(channel.id, me)
    return json_response(200, payload)


def send_permission(channel: Channel) -> P:
    """What lets the bot talk in a channel: SEND_MESSAGES has no effect in threads."""
    return P.SEND_MESSAGES_IN_THREADS if channel.is_thread else P.SEND_MESSAGES


@routes.post("/channels/{channel_id}/typing")
async def trigger_typing(request: web.Request) -> web.Response:
    channel, permissions = bot_channel(request)
    if not permissions & send_permission(channel):
        raise errors.missing_permissions()
    return no_content()


def object_body(request: web.Request) -> dict[str, Any]:
    data = body(request)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise errors.not_an_object()
    return data


def apply_embed_permission(data: dict[str, Any], permissions: int, uploaded: int) -> dict[str, Any]:
    """Without EMBED_LINKS embeds are dropped; a message that would then be empty is refused."""
    if not data.get("embeds") or permissions & P.EMBED_LINKS:
        return data
    without = {k: v for k, v in data.items() if k != "embeds"}
    if not message_has_content(without, files=uploaded):
        raise errors.missing_permissions()
    return without


@routes.post("/channels/{channel_id}/messages")
async def create_message(request: web.Request) -> web.Response:
    emu = emulator(request)
    app = bot_app(request)
    channel, permissions = bot_channel(request)
    if channel.is_forum:
        raise errors.APIError(400, 40058, "Cannot send a message in a forum channel")
    if not permissions & send_permission(channel):
        raise errors.missing_permissions()
    if channel.guild_id is None:
        other = [u for u in channel.recipient_ids if u != app.bot_user.id]
        if not other or not emu.world.accepts_dms_from(other[0], app.bot_user.id):
            raise errors.APIError(403, 50007, "Cannot send messages to this user")
    data = object_body(request)
    uploaded = files(request)
    validate_message_body(data, allowed_flags=CHANNEL_MESSAGE_FLAGS, files=len(uploaded))
    if uploaded and not permissions & P.ATTACH_FILES:
        raise errors.missing_permissions()
    if data.get("message_reference") and not permissions & P.READ_MESSAGE_HISTORY:
        raise errors.missing_permissions()
    data = apply_embed_permission(data, permissions, len(uploaded))
    if data.get("tts") and not permissions & P.SEND_TTS_MESSAGES:
        data = {**data, "tts": False}
    nonce = data.get("nonce")
    if nonce is not None and data.get("enforce_nonce"):
        previous = emu.world.recent_with_nonce(channel.id, app.bot_user.id, nonce, emu.nonce_window)
        if previous is not None:
            return json_response(200, previous.to_payload())
    reopen_for_message(request, channel, permissions)
    message = emu.message_service.create(
        channel=channel,
        author=app.bot_user,
        body=data,
        files=uploaded,
        author_permissions=permissions,
    )
    return json_response(200, message.to_payload())


def reopen_for_message(request: web.Request, channel: Channel, permissions: int) -> None:
    """A message in an archived thread unarchives it (THREAD_UPDATE) unless a moderator locked
    it; nobody but a moderator (MANAGE_THREADS) posts in a locked thread (topics/threads)."""
    state = channel.thread
    if state is None or permissions & P.MANAGE_THREADS:
        if state is not None and state.archived:
            emulator(request).thread_service.update(channel, archived=False)
        return
    if state.locked:
        if state.archived:
            raise thread_archived()
        raise errors.missing_permissions()
    if state.archived:
        emulator(request).thread_service.update(channel, archived=False)


@routes.get("/channels/{channel_id}/messages")
async def list_messages(request: web.Request) -> web.Response:
    emu = emulator(request)
    channel, permissions = bot_channel(request)
    if not permissions & P.READ_MESSAGE_HISTORY:
        return json_response(200, [])
    try:
        anchors = {
            k: int(request.query[k]) for k in ("before", "after", "around") if k in request.query
        }
    except ValueError:
        raise _limit_not_int() from None
    limit = query_limit(request, default=50, maximum=100)
    messages = [m for m in emu.world.visible_messages(channel.id) if not m.ephemeral]
    if "around" in anchors:
        pivot = anchors["around"]
        older = [m for m in messages if m.id <= pivot][-((limit + 1) // 2) :]
        newer = [m for m in messages if m.id > pivot][: limit // 2]
        selected = older + newer
    elif "after" in anchors:
        selected = [m for m in messages if m.id > anchors["after"]][:limit]
    else:
        before = anchors.get("before")
        selected = [m for m in messages if before is None or m.id < before][-limit:]
    selected.sort(key=lambda m: m.id, reverse=True)
    me = bot_app(request).bot_user.id
    return json_response(200, [m.to_payload(viewer_id=me) for m in selected])


def channel_message(request: web.Request, channel: Channel) -> Message:
    message_id = snowflake(request, "message_id", errors.unknown_message())
    message = emulator(request).world.messages.get(message_id)
    if message is None or message.deleted or message.ephemeral or message.channel_id != channel.id:
        raise errors.unknown_message()
    return message


@routes.get("/channels/{channel_id}/messages/{message_id}")
async def get_message(request: web.Request) -> web.Response:
    channel, permissions = bot_channel(request)
    if not permissions & P.READ_MESSAGE_HISTORY:
        raise errors.missing_access()
    me = bot_app(request).bot_user.id
    return json_response(200, channel_message(request, channel).to_payload(viewer_id=me))


@routes.patch("/channels/{channel_id}/messages/{message_id}")
async def edit_message(request: web.Request) -> web.Response:
    emu = emulator(request)
    app = bot_app(request)
    channel, permissions = bot_channel(request)
    message = channel_message(request, channel)
    data = object_body(request)
    if message.author_id != app.bot_user.id or message.webhook_id is not None:
        if set(data) - {"flags"}:
            raise errors.cannot_edit_others()
        if not permissions & P.MANAGE_MESSAGES:
            raise errors.missing_permissions()
    uploaded = files(request)
    validate_message_body(data, allowed_flags=CHANNEL_MESSAGE_FLAGS, files=len(uploaded), edit=True)
    if "embeds" in data and data.get("embeds") and not permissions & P.EMBED_LINKS:
        merged_content = data.get("content", message.content)
        if not merged_content and not data.get("components", message.components):
            raise errors.missing_permissions()
        data = {k: v for k, v in data.items() if k != "embeds"}
    check_edit_keeps_content(message, data, uploaded)
    emu.message_service.edit(message, data, uploaded, author_permissions=permissions)
    return json_response(200, message.to_payload(viewer_id=app.bot_user.id))


@routes.delete("/channels/{channel_id}/messages/{message_id}")
async def delete_message(request: web.Request) -> web.Response:
    emu = emulator(request)
    app = bot_app(request)
    channel, permissions = bot_channel(request)
    message = channel_message(request, channel)
    if message.author_id != app.bot_user.id and not permissions & P.MANAGE_MESSAGES:
        raise errors.missing_permissions()
    if message.type == THREAD_STARTER_MESSAGE:  # not deletable (resources/message types)
        raise errors.APIError(400, 50021, "Cannot execute action on a system message")
    emu.message_service.delete(message)
    return no_content()


BULK_DELETE_MIN, BULK_DELETE_MAX = 2, 100
BULK_DELETE_MAX_AGE = 14 * 24 * 3600  # seconds


@routes.post("/channels/{channel_id}/messages/bulk-delete")
async def bulk_delete_messages(request: web.Request) -> web.Response:
    """MANAGE_MESSAGES in a guild channel; 2-100 distinct ids, none older than two weeks.

    Unknown ids count towards the limits and are skipped (docs: resources/message).
    """
    emu = emulator(request)
    channel, permissions = bot_channel(request)
    if channel.guild_id is None:
        raise errors.APIError(403, 50003, "Cannot execute action on a DM channel")
    if not permissions & P.MANAGE_MESSAGES:
        raise errors.missing_permissions()
    data = object_body(request)
    raw_ids = data.get("messages")
    if not isinstance(raw_ids, list):
        raise errors.form_error(("messages",), "BASE_TYPE_REQUIRED", "This field is required")
    if not BULK_DELETE_MIN <= len(raw_ids) <= BULK_DELETE_MAX:
        raise errors.form_error(
            ("messages",),
            "BASE_TYPE_BAD_LENGTH",
            f"Must be between {BULK_DELETE_MIN} and {BULK_DELETE_MAX} in length.",
        )
    try:
        ids = [int(i) for i in raw_ids]
    except (TypeError, ValueError):
        raise errors.form_error(
            ("messages",), "NUMBER_TYPE_COERCE", "Value is not snowflake."
        ) from None
    if len(set(ids)) != len(ids):
        raise errors.form_error(("messages",), "BASE_TYPE_DUPLICATES", "Duplicate values.")
    found = [
        m
        for i in ids
        if (m := emu.world.messages.get(i)) is not None
        and m.channel_id == channel.id
        and not m.deleted
        and not m.ephemeral
    ]
    if any(time.time() - m.created_at.timestamp() > BULK_DELETE_MAX_AGE for m in found):
        raise errors.APIError(
            400, 50034, "You can only bulk delete messages that are under 14 days old."
        )
    if found:
        emu.message_service.bulk_delete(channel, found)
    return no_content()
