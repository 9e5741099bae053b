"""Storage: models, the engine and units of work, and migrations."""

from bot.db.base import Base
from bot.db.database import Database
from bot.db.models import (
    ActivityEvent,
    BotState,
    Member,
    OutboxPost,
    PendingAnswer,
    Resource,
    ResourceTag,
    Server,
)
from bot.db.types import utcnow

__all__ = [
    "ActivityEvent",
    "Base",
    "BotState",
    "Database",
    "Member",
    "OutboxPost",
    "PendingAnswer",
    "Resource",
    "ResourceTag",
    "Server",
    "utcnow",
]
