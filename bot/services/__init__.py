"""Domain services: plain ids and values in, plain results out; nothing here knows discord.py."""

from __future__ import annotations

from dataclasses import dataclass

from bot.db import Database
from bot.services.answers import PendingAnswers
from bot.services.asks import AskService
from bot.services.bot_state import BotStateStore
from bot.services.coach import CoachService
from bot.services.converse import ConverseService
from bot.services.introductions import IntroductionService
from bot.services.outbox import Outbox
from bot.services.progress import ProgressService
from bot.services.resource_search import ResourceSearch
from bot.services.server_settings import ServerSettingsService
from bot.services.sharing import SharingService
from bot.services.suggestions import SuggestionService


@dataclass(frozen=True, slots=True)
class Services:
    """Everything the cogs may call, built once per bot at start-up."""

    database: Database
    sharing: SharingService
    progress: ProgressService
    server_settings: ServerSettingsService
    state: BotStateStore
    outbox: Outbox
    answers: PendingAnswers
    introductions: IntroductionService
    suggestions: SuggestionService
    converse: ConverseService
    coach: CoachService
    asks: AskService
    resource_search: ResourceSearch


def build_services(database: Database) -> Services:
    introductions = IntroductionService(database)
    suggestions = SuggestionService(database)
    converse = ConverseService(database)
    return Services(
        database=database,
        sharing=SharingService(database),
        progress=ProgressService(database),
        server_settings=ServerSettingsService(database),
        state=BotStateStore(database),
        outbox=Outbox(database),
        answers=PendingAnswers(database),
        introductions=introductions,
        suggestions=suggestions,
        converse=converse,
        coach=CoachService(suggestions, converse, introductions),
        asks=AskService(database),
        resource_search=ResourceSearch(database),
    )
