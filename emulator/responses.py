"""Interaction callbacks, follow-ups and the ``@original`` webhook message, with Discord's rules.

An interaction is acknowledged exactly once (else 40060), only within the deadline (else 10062
Unknown interaction); its token then works as a webhook for ``followup_window`` seconds (else
50027 Invalid Webhook Token). Before the acknowledgement the webhook does not exist (10015).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any

from . import errors
from .errors import APIError, FormErrors
from .interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    Interaction,
    InteractionResponse,
    app_permissions,
)
from .mentions import PARSE_USERS
from .messages import MessageService, UploadedFile, check_edit_keeps_content
from .state import (
    EPHEMERAL,
    IS_COMPONENTS_V2,
    LOADING,
    SUPPRESS_EMBEDS,
    SUPPRESS_NOTIFICATIONS,
    Application,
    Message,
    Payload,
)
from .validation import validate_message_body
from .world import World

PONG, CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 1, 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL, PREMIUM_REQUIRED, LAUNCH_ACTIVITY = 8, 9, 10, 12
IS_VOICE_MESSAGE = 1 << 13
RESPONSE_FLAGS = (
    SUPPRESS_EMBEDS | EPHEMERAL | IS_COMPONENTS_V2 | IS_VOICE_MESSAGE | SUPPRESS_NOTIFICATIONS
)
ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL),
    MESSAGE_COMPONENT: (
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE,
        UPDATE_MESSAGE,
        MODAL,
    ),
    AUTOCOMPLETE: (AUTOCOMPLETE_RESULT,),
    MODAL_SUBMIT: (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE),
}

Notify = Callable[[str, dict[str, Any]], None]


def _nest(error: APIError, prefix: str) -> APIError:
    if error.errors:
        return errors.invalid_form_body({prefix: error.errors})
    return error


class InteractionResponder:
    def __init__(
        self,
        world: World,
        messages: MessageService,
        notify: Notify,
        *,
        deadline: float,
        followup_window: float,
    ) -> None:
        self.world = world
        self.messages = messages
        self.notify = notify
        self.deadline = deadline
        self.followup_window = followup_window
        self.by_id: dict[int, Interaction] = {}
        self.by_token: dict[str, Interaction] = {}

    def register(self, interaction: Interaction) -> None:
        self.by_id[interaction.id] = interaction
        self.by_token[interaction.token] = interaction

    def _app(self, interaction: Interaction) -> Application:
        return self.world.applications[interaction.application_id]

    # -- POST /interactions/{id}/{token}/callback --------------------------------------------------

    def callback(
        self,
        interaction_id: int,
        token: str,
        body: Any,
        files: Sequence[UploadedFile],
        *,
        with_response: bool,
    ) -> Payload | None:
        interaction = self.by_id.get(interaction_id)
        if interaction is None or interaction.token != token:
            raise errors.unknown_interaction()
        if interaction.response is not None:
            raise errors.already_acknowledged()
        if time.monotonic() - interaction.created_at > self.deadline:
            raise errors.unknown_interaction()
        if not isinstance(body, dict):
            raise errors.form_error(("type",), "BASE_TYPE_REQUIRED", "This field is required")
        callback_type = body.get("type")
        allowed = ALLOWED_CALLBACKS.get(interaction.type, ())
        if callback_type not in allowed:
            raise errors.form_error(
                ("type",),
                "INTERACTION_CALLBACK_TYPE_INVALID",
                f"Value must be one of {sorted(allowed)} for this interaction type.",
            )
        if (
            callback_type in (UPDATE_MESSAGE, DEFERRED_UPDATE)
            and interaction.source_message_id is None
        ):
            raise errors.form_error(
                ("type",),
                "INTERACTION_CALLBACK_TYPE_INVALID",
                "This interaction has no message to update.",
            )
        data = body.get("data")
        if data is not None and not isinstance(data, dict):
            raise errors.not_an_object(("data",))
        data = data or {}
        handler = {
            CHANNEL_MESSAGE: self._reply,
            DEFERRED_CHANNEL_MESSAGE: self._defer,
            DEFERRED_UPDATE: self._defer_update,
            UPDATE_MESSAGE: self._update,
            AUTOCOMPLETE_RESULT: self._autocomplete,
            MODAL: self._modal,
        }[callback_type]
        message = handler(interaction, data, files)
        interaction.response = InteractionResponse(
            type=callback_type, data=copy.deepcopy(data) if body.get("data") is not None else None
        )
        interaction.responded_at = time.monotonic()
        interaction._notify()
        if message is not None and callback_type == CHANNEL_MESSAGE:
            self.notify("INTERACTION_MESSAGE", message.to_payload())
        if not with_response:
            return None
        callback: Payload = {"id": str(interaction.id), "type": interaction.type}
        resource: Payload = {"type": callback_type}
        if message is not None:
            callback["response_message_id"] = str(message.id)
            callback["response_message_loading"] = bool(message.flags & LOADING)
            callback["response_message_ephemeral"] = message.ephemeral
            if callback_type in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
                resource["message"] = message.to_payload()
        return {"interaction": callback, "resource": resource}

    def _metadata(self, interaction: Interaction) -> tuple[Payload, Payload | None]:
        user = self.world.users[interaction.user_id]
        metadata: Payload = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": user.to_payload(),
            "authorizing_integration_owners": interaction.payload.get(
                "authorizing_integration_owners", {}
            ),
        }
        legacy: Payload | None = None
        if interaction.type == APPLICATION_COMMAND:
            name = _full_command_name(interaction.data)
            metadata["name"] = name
            metadata["command_type"] = interaction.data.get("type", 1)
            legacy = {
                "id": str(interaction.id),
                "type": interaction.type,
                "name": name,
                "user": user.to_payload(),
            }
            if interaction.guild_id is not None:
                member = self.world.member(interaction.guild_id, interaction.user_id)
                if member is not None:
                    legacy["member"] = member.to_payload(with_user=False)
        if interaction.source_message_id is not None:
            metadata["interacted_message_id"] = str(interaction.source_message_id)
        if interaction.original_message_id is not None:
            metadata["original_response_message_id"] = str(interaction.original_message_id)
        return metadata, legacy

    def _new_message(
        self,
        interaction: Interaction,
        data: Payload,
        files: Sequence[UploadedFile],
        *,
        extra_flags: int = 0,
    ) -> Message:
        app = self._app(interaction)
        channel = self.world.channels[interaction.channel_id]
        metadata, legacy = self._metadata(interaction)
        return self.messages.create(
            channel=channel,
            author=app.bot_user,
            body=data,
            files=files,
            author_permissions=app_permissions(self.world, channel, app.bot_user.id),
            default_parse=PARSE_USERS,
            message_type=20 if interaction.type == APPLICATION_COMMAND else 0,
            webhook_id=app.id,
            application_id=app.id,
            interaction_id=interaction.id,
            interaction_metadata=metadata,
            interaction_legacy=legacy,
            extra_flags=extra_flags,
        )

    def _validated(
        self, data: Payload, files: Sequence[UploadedFile], *, edit: bool, prefix: str | None
    ) -> None:
        try:
            validate_message_body(data, allowed_flags=RESPONSE_FLAGS, files=len(files), edit=edit)
        except APIError as error:
            raise _nest(error, prefix) if prefix else error from None

    def _reply(
        self, interaction: Interaction, data: Payload, files: Sequence[UploadedFile]
    ) -> Message:
        self._validated(data, files, edit=False, prefix="data")
        message = self._new_message(interaction, data, files)
        interaction.original_message_id = message.id
        return message

    def _defer(
        self, interaction: Interaction, data: Payload, files: Sequence[UploadedFile]
    ) -> Message:
        flags = data.get("flags") or 0
        if not isinstance(flags, int) or flags & ~EPHEMERAL:
            raise errors.form_error(
                ("data", "flags"),
                "MESSAGE_FLAGS_INVALID",
                "Only the EPHEMERAL flag can be set when deferring",
            )
        message = self._new_message(interaction, {"flags": flags}, (), extra_flags=LOADING)
        interaction.original_message_id = message.id
        return message

    def _defer_update(
        self, interaction: Interaction, data: Payload, files: Sequence[UploadedFile]
    ) -> None:
        interaction.original_message_id = interaction.source_message_id
        return

    def _update(
        self, interaction: Interaction, data: Payload, files: Sequence[UploadedFile]
    ) -> Message:
        self._validated(data, files, edit=True, prefix="data")
        assert interaction.source_message_id is not None
        message = self.world.messages.get(interaction.source_message_id)
        if message is None or message.deleted:
            raise errors.unknown_message()
        self._apply_edit(interaction, message, data, files)
        interaction.original_message_id = message.id
        return message

    def _autocomplete(
        self, interaction: Interaction, data: Payload, files: Sequence[UploadedFile]
    ) -> None:
        form = FormErrors()
        choices = data.get("choices")
        if not isinstance(choices, list):
            form.add_required(("data", "choices"))
        elif len(choices) > 25:
            form.add_max_length(("data", "choices"), 25)
        else:
            for index, choice in enumerate(choices):
                path: tuple[str | int, ...] = ("data", "choices", index)
                if not isinstance(choice, dict):
                    form.add_not_an_object(path)
                    continue
                name = choice.get("name")
                if not isinstance(name, str) or not 1 <= len(name) <= 100:
                    form.add_bad_length((*path, "name"), 1, 100)
                value = choice.get("value")
                if isinstance(value, str) and len(value) > 100:
                    form.add_max_length((*path, "value"), 100)
                elif value is None or isinstance(value, bool):
                    form.add_required((*path, "value"))
        form.raise_if_any()
        return

    def _modal(
        self, interaction: Interaction, data: Payload, files: Sequence[UploadedFile]
    ) -> None:
        form = FormErrors()
        custom_id = data.get("custom_id")
        if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 100:
            form.add_bad_length(("data", "custom_id"), 1, 100)
        title = data.get("title")
        if not isinstance(title, str) or not 1 <= len(title) <= 45:
            form.add_bad_length(("data", "title"), 1, 45)
        components = data.get("components")
        if not isinstance(components, list) or not 1 <= len(components) <= 5:
            form.add_bad_length(("data", "components"), 1, 5)
        else:
            for index, component in enumerate(components):
                if not isinstance(component, dict) or component.get("type") not in (1, 10, 18):
                    form.add(
                        ("data", "components", index, "type"),
                        "UNION_TYPE_CHOICES",
                        'Value of field "type" must be one of (1, 10, 18).',
                    )
        form.raise_if_any()
        return

    # -- webhook routes ----------------------------------------------------------------------

    def _webhook(self, application_id: int, token: str) -> Interaction:
        interaction = self.by_token.get(token)
        if interaction is None or interaction.application_id != application_id:
            raise errors.unknown_webhook()
        if time.monotonic() - interaction.created_at > self.followup_window:
            raise errors.invalid_webhook_token()
        if interaction.response is None or interaction.response.type == AUTOCOMPLETE_RESULT:
            raise errors.unknown_webhook()
        return interaction

    def followup(
        self, application_id: int, token: str, body: Any, files: Sequence[UploadedFile]
    ) -> Message:
        interaction = self._webhook(application_id, token)
        if not isinstance(body, dict):
            raise errors.empty_message()
        original = (
            self.world.messages.get(interaction.original_message_id)
            if interaction.original_message_id is not None
            else None
        )
        if original is not None and original.loading and not original.deleted:
            # Documented (deprecated) behaviour: a follow-up right after a deferral fills it.
            return self.edit(application_id, token, "@original", body, files)
        self._validated(body, files, edit=False, prefix=None)
        message = self._new_message(interaction, body, files)
        interaction.followups.append(message)
        interaction._notify()
        self.notify("INTERACTION_MESSAGE", message.to_payload())
        return message

    def _target(self, interaction: Interaction, message_ref: str) -> Message:
        if message_ref == "@original":
            message_id = interaction.original_message_id
        else:
            try:
                message_id = int(message_ref)
            except ValueError:
                raise errors.unknown_message() from None
            allowed = {m.id for m in interaction.followups}
            if interaction.original_message_id is not None:
                allowed.add(interaction.original_message_id)
            if message_id not in allowed:
                raise errors.unknown_message()
        message = self.world.messages.get(message_id) if message_id is not None else None
        if message is None or message.deleted:
            raise errors.unknown_message()
        return message

    def get(self, application_id: int, token: str, message_ref: str) -> Message:
        return self._target(self._webhook(application_id, token), message_ref)

    def _apply_edit(
        self,
        interaction: Interaction,
        message: Message,
        body: Payload,
        files: Sequence[UploadedFile],
    ) -> None:
        """Edit a message as the interaction's bot; an edit that would empty it gets 50006."""
        channel = self.world.channels.get(message.channel_id)
        if channel is None:  # the channel was deleted, and its messages with it
            raise errors.unknown_message()
        check_edit_keeps_content(message, body, files)
        app = self._app(interaction)
        self.messages.edit(
            message,
            body,
            files,
            author_permissions=app_permissions(self.world, channel, app.bot_user.id),
            default_parse=PARSE_USERS,
        )

    def edit(
        self,
        application_id: int,
        token: str,
        message_ref: str,
        body: Any,
        files: Sequence[UploadedFile],
    ) -> Message:
        interaction = self._webhook(application_id, token)
        message = self._target(interaction, message_ref)
        if not isinstance(body, dict):
            raise errors.not_an_object()
        self._validated(body, files, edit=True, prefix=None)
        was_loading = message.loading
        self._apply_edit(interaction, message, body, files)
        interaction._notify()
        self.notify(
            "INTERACTION_MESSAGE" if was_loading else "INTERACTION_MESSAGE_UPDATE",
            message.to_payload(),
        )
        return message

    def delete(self, application_id: int, token: str, message_ref: str) -> None:
        interaction = self._webhook(application_id, token)
        message = self._target(interaction, message_ref)
        self.messages.delete(message)
        interaction._notify()


def _full_command_name(data: Payload) -> str:
    parts = [str(data.get("name", ""))]
    options = data.get("options") or []
    while options and options[0].get("type") in (1, 2):
        parts.append(options[0]["name"])
        options = options[0].get("options") or []
    return " ".join(parts)
