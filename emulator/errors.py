"""Discord's JSON error responses, raised as exceptions by handlers and rendered by the server.

Discord answers every failure with ``{"code": ..., "message": ...}`` and, for invalid bodies
(code 50035), an ``errors`` tree mirroring the request's shape whose leaves are
``{"_errors": [{"code": ..., "message": ...}]}``.
"""

from __future__ import annotations

from typing import Any

ErrorTree = dict[str, Any]


class APIError(Exception):
    """A Discord error response: HTTP status, JSON error code, message and optional errors tree."""

    def __init__(
        self, status: int, code: int, message: str, errors: ErrorTree | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


class FormErrors:
    """Collects field errors at paths like ("embeds", 0, "title") into Discord's errors tree."""

    def __init__(self) -> None:
        self.tree: ErrorTree = {}

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    # Discord's common field errors, spelled once so every validator reports them identically.

    def add_required(self, path: tuple[str | int, ...]) -> None:
        self.add(path, "BASE_TYPE_REQUIRED", "This field is required")

    def add_max_length(self, path: tuple[str | int, ...], limit: int) -> None:
        self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def add_bad_length(self, path: tuple[str | int, ...], low: int, high: int) -> None:
        self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def add_not_an_array(self, path: tuple[str | int, ...]) -> None:
        self.add(path, "BASE_TYPE_ARRAY", "Must be an array.")

    def add_not_an_object(self, path: tuple[str | int, ...]) -> None:
        self.add(path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")

    def __bool__(self) -> bool:
        return bool(self.tree)

    def raise_if_any(self) -> None:
        if self.tree:
            raise invalid_form_body(self.tree)


def invalid_form_body(errors: ErrorTree) -> APIError:
    return APIError(400, 50035, "Invalid Form Body", errors)


def form_error(path: tuple[str | int, ...], code: str, message: str) -> APIError:
    errors = FormErrors()
    errors.add(path, code, message)
    return invalid_form_body(errors.tree)


def not_an_object(path: tuple[str | int, ...] = ()) -> APIError:
    """50035 for a body (or the field at ``path``) that should be a JSON object but is not."""
    errors = FormErrors()
    errors.add_not_an_object(path)
    return invalid_form_body(errors.tree)


def unauthorized() -> APIError:
    return APIError(401, 0, "401: Unauthorized")


def not_found_route() -> APIError:
    return APIError(404, 0, "404: Not Found")


def method_not_allowed() -> APIError:
    return APIError(405, 0, "405: Method Not Allowed")


def unknown_application() -> APIError:
    return APIError(404, 10002, "Unknown Application")


def unknown_channel() -> APIError:
    return APIError(404, 10003, "Unknown Channel")


def unknown_guild() -> APIError:
    return APIError(404, 10004, "Unknown Guild")


def unknown_member() -> APIError:
    return APIError(404, 10007, "Unknown Member")


def unknown_message() -> APIError:
    return APIError(404, 10008, "Unknown Message")


def unknown_emoji() -> APIError:
    return APIError(400, 10014, "Unknown Emoji")


def unknown_user() -> APIError:
    return APIError(404, 10013, "Unknown User")


def unknown_webhook() -> APIError:
    return APIError(404, 10015, "Unknown Webhook")


def unknown_interaction() -> APIError:
    return APIError(404, 10062, "Unknown interaction")


def unknown_command() -> APIError:
    return APIError(404, 10063, "Unknown application command")


def too_many_commands(limit: int) -> APIError:
    return APIError(400, 30032, f"Maximum number of application commands reached ({limit})")


def already_acknowledged() -> APIError:
    return APIError(400, 40060, "Interaction has already been acknowledged.")


def missing_access() -> APIError:
    return APIError(403, 50001, "Missing Access")


def missing_permissions() -> APIError:
    return APIError(403, 50013, "Missing Permissions")


def cannot_edit_others() -> APIError:
    return APIError(403, 50005, "Cannot edit a message authored by another user")


def empty_message() -> APIError:
    return APIError(400, 50006, "Cannot send an empty message")


def invalid_webhook_token() -> APIError:
    return APIError(401, 50027, "Invalid Webhook Token")


def invalid_json() -> APIError:
    return APIError(400, 50109, "The request body contains invalid JSON.")
