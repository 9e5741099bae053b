"""Storage: models, the engine and units of work, and migrations."""

from bot.db.base import Base
from bot.db.database import Database
from bot.db.models import (
    ActivityEvent,
    BotState,
    ConversationWeek,
    Member,
    OutboxPost,
    PendingAnswer,
    Resource,
    ResourceTag,
    Server,
    Tie,
)
from bot.db.types import utcnow

__all__ = [
    "ActivityEvent",
    "Base",
    "BotState",
    "ConversationWeek",
    "Database",
    "Member",
    "OutboxPost",
    "PendingAnswer",
    "Resource",
    "ResourceTag",
    "Server",
    "Tie",
    "utcnow",
]
