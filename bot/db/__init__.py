"""Storage: models, the engine and units of work, and migrations."""

from bot.db.base import Base
from bot.db.database import Database
from bot.db.models import (
    ActivityEvent,
    Ask,
    AskAnswer,
    AskHelper,
    AskTag,
    BotState,
    ConversationWeek,
    Introduction,
    Member,
    MemberInterest,
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
    "Ask",
    "AskAnswer",
    "AskHelper",
    "AskTag",
    "Base",
    "BotState",
    "ConversationWeek",
    "Database",
    "Introduction",
    "Member",
    "MemberInterest",
    "OutboxPost",
    "PendingAnswer",
    "Resource",
    "ResourceTag",
    "Server",
    "Tie",
    "utcnow",
]
