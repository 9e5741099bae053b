"""REST routes authenticated by an interaction token: the callback and the follow-up webhook."""

from __future__ import annotations

from aiohttp import web

from . import errors
from .rest import body, emulator, files, json_response, no_content, query_flag, snowflake

routes = web.RouteTableDef()


@routes.post("/interactions/{interaction_id}/{interaction_token}/callback")
async def interaction_callback(request: web.Request) -> web.Response:
    responder = emulator(request).responder
    interaction_id = snowflake(request, "interaction_id", errors.unknown_interaction())
    result = responder.callback(
        interaction_id,
        request.match_info["interaction_token"],
        body(request),
        files(request),
        with_response=query_flag(request, "with_response"),
    )
    if result is None:
        return no_content()
    return json_response(200, result)


def _webhook_id(request: web.Request) -> int:
    return snowflake(request, "webhook_id", errors.unknown_webhook())


@routes.post("/webhooks/{webhook_id}/{webhook_token}")
async def execute_followup(request: web.Request) -> web.Response:
    responder = emulator(request).responder
    message = responder.followup(
        _webhook_id(request), request.match_info["webhook_token"], body(request), files(request)
    )
    return json_response(200, message.to_payload())


@routes.get("/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
async def get_webhook_message(request: web.Request) -> web.Response:
    responder = emulator(request).responder
    message = responder.get(
        _webhook_id(request), request.match_info["webhook_token"], request.match_info["message_id"]
    )
    return json_response(200, message.to_payload())


@routes.patch("/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
async def edit_webhook_message(request: web.Request) -> web.Response:
    responder = emulator(request).responder
    message = responder.edit(
        _webhook_id(request),
        request.match_info["webhook_token"],
        request.match_info["message_id"],
        body(request),
        files(request),
    )
    return json_response(200, message.to_payload())


@routes.delete("/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
async def delete_webhook_message(request: web.Request) -> web.Response:
    responder = emulator(request).responder
    responder.delete(
        _webhook_id(request), request.match_info["webhook_token"], request.match_info["message_id"]
    )
    return no_content()
