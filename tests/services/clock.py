"""A clock the test moves by hand, for services that take ``clock=``; answer tickets."""

from __future__ import annotations

from datetime import datetime

from bot.services.answers import AnswerTicket


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def answer_ticket(now: datetime, channel_id: int = 1, owner: str = "main/run1") -> AnswerTicket:
    """An interaction's answer ticket, as a command would pass it to a service."""
    return AnswerTicket.for_interaction(
        application_id=4242,
        channel_id=channel_id,
        token="interaction-token",
        created_at=now,
        owner=owner,
    )
