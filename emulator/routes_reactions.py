"""REST routes for the bot's reactions: add or remove its own, remove someone's, list who reacted.

Checks follow docs resources/message (Create Reaction ...): the emoji must be a unicode emoji or
``name:id`` (10014 Unknown Emoji otherwise; the emulator has no custom emoji, so every custom one
is unknown), READ_MESSAGE_HISTORY to react, and ADD_REACTIONS only to be the first with an emoji;
MANAGE_MESSAGES to remove another user's reaction. Each change fires the gateway event.
"""

from __future__ import annotations

from aiohttp import web

from . import errors
from .permissions import P
from .reactions import ReactionEmoji, find_reaction, parse_emoji
from .rest import bot_app, emulator, json_response, no_content, snowflake
from .routes_core import bot_channel, channel_message, query_limit

routes = web.RouteTableDef()

_REACTION = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}"


def _emoji(request: web.Request) -> ReactionEmoji:
    try:
        emoji = parse_emoji(request.match_info["emoji"])
    except ValueError:
        raise errors.unknown_emoji() from None
    if emoji.id is not None:
        raise errors.unknown_emoji()
    return emoji


@routes.put(_REACTION + "/@me")
async def add_own_reaction(request: web.Request) -> web.Response:
    emu = emulator(request)
    app = bot_app(request)
    channel, permissions = bot_channel(request)
    message = channel_message(request, channel)
    emoji = _emoji(request)
    if not permissions & P.READ_MESSAGE_HISTORY:
        raise errors.missing_permissions()
    if find_reaction(message, emoji) is None and not permissions & P.ADD_REACTIONS:
        raise errors.missing_permissions()
    emu.reaction_service.add(message, app.bot_user.id, emoji)
    return no_content()


@routes.delete(_REACTION + "/@me")
async def remove_own_reaction(request: web.Request) -> web.Response:
    emu = emulator(request)
    app = bot_app(request)
    channel, _ = bot_channel(request)
    message = channel_message(request, channel)
    emu.reaction_service.remove(message, app.bot_user.id, _emoji(request))
    return no_content()


@routes.delete(_REACTION + "/{user_id}")
async def remove_user_reaction(request: web.Request) -> web.Response:
    emu = emulator(request)
    channel, permissions = bot_channel(request)
    message = channel_message(request, channel)
    emoji = _emoji(request)
    user_id = snowflake(request, "user_id", errors.unknown_user())
    if channel.guild_id is None:
        raise errors.APIError(403, 50003, "Cannot execute action on a DM channel")
    if not permissions & P.MANAGE_MESSAGES:
        raise errors.missing_permissions()
    emu.reaction_service.remove(message, user_id, emoji)
    return no_content()


@routes.get(_REACTION)
async def list_reaction_users(request: web.Request) -> web.Response:
    """The users who reacted with the emoji, by id, after ``after``, at most ``limit`` (25)."""
    emu = emulator(request)
    channel, _ = bot_channel(request)
    message = channel_message(request, channel)
    reaction = find_reaction(message, _emoji(request))
    limit = query_limit(request, default=25, maximum=100)
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        raise errors.form_error(("after",), "NUMBER_TYPE_COERCE", "Value is not int.") from None
    user_ids = sorted(u for u in (reaction.user_ids if reaction else []) if u > after)
    users = [emu.world.users[u].to_payload() for u in user_ids[:limit] if u in emu.world.users]
    return json_response(200, users)
