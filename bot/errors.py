"""Errors that carry a message meant for the member, not a stack trace."""

from __future__ import annotations


class UserFacingError(Exception):
    """Something the member can fix or should know; the message is shown to them as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(UserFacingError):
    """What the member typed cannot be used; nothing was stored."""


class NotFound(UserFacingError):
    """The thing the member referred to does not exist (any more)."""


class DatabaseUnavailable(UserFacingError):
    """The database did not answer in time, so nothing was changed; trying later may work."""

    SAVING = "I couldn't save that just now — nothing was changed. Please try again in a minute."
    LOOKING = "I couldn't look that up just now. Please try again in a minute."


class RepeatedInteraction(Exception):
    """Discord delivered an interaction this process already has (a gateway resume replays the
    events it had not confirmed): the first copy answers it, this one does nothing."""
