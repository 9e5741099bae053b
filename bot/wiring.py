"""Every service the cogs may call, built once per bot at start-up from one database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.challenges.catalogue import ChallengeCatalogue
from bot.challenges.completions import ChallengeCompletions
from bot.challenges.schedules import ScheduleService
from bot.challenges.weekly_posts import DEFAULT_GRACE, WeeklyPosts
from bot.db import Database, utcnow
from bot.scheduling.clock import Clock
from bot.services.answers import PendingAnswers
from bot.services.asks import AskService
from bot.services.bot_state import BotStateStore
from bot.services.channel_blocks import ChannelBlockService
from bot.services.coach import CoachService
from bot.services.converse import ConverseService
from bot.services.introductions import IntroductionService
from bot.services.nudges import NudgeService
from bot.services.outbox import Outbox
from bot.services.privacy import PrivacyService
from bot.services.progress import ProgressService
from bot.services.recaps import RecapService
from bot.services.resource_search import ResourceSearch
from bot.services.server_settings import ServerSettingsService
from bot.services.server_setup import ServerSetupService
from bot.services.sharing import SharingService
from bot.services.suggestions import SuggestionService
from bot.services.thresholds import ThresholdService


@dataclass(frozen=True, slots=True)
class Services:
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
    schedules: ScheduleService
    weekly_posts: WeeklyPosts
    completions: ChallengeCompletions
    catalogue: ChallengeCatalogue
    recaps: RecapService
    nudges: NudgeService
    privacy: PrivacyService
    channel_blocks: ChannelBlockService
    thresholds: ThresholdService
    setup: ServerSetupService


def build_services(
    database: Database, *, clock: Clock = utcnow, catch_up_grace: timedelta = DEFAULT_GRACE
) -> Services:
    """``clock``: the time weekly posts, challenges and nudges go by."""
    suggestions = SuggestionService(database)
    introductions = IntroductionService(database, members_changed=suggestions.members_changed)
    converse = ConverseService(database)
    asks = AskService(database)
    coach = CoachService(suggestions, converse, introductions)
    thresholds = ThresholdService(database)
    return Services(
        database=database,
        sharing=SharingService(database),
        progress=ProgressService(database, thresholds=thresholds),
        server_settings=ServerSettingsService(database),
        state=BotStateStore(database),
        outbox=Outbox(database),
        answers=PendingAnswers(database),
        introductions=introductions,
        suggestions=suggestions,
        converse=converse,
        coach=coach,
        asks=asks,
        resource_search=ResourceSearch(database),
        schedules=ScheduleService(database, clock),
        weekly_posts=WeeklyPosts(database, clock=clock, grace=catch_up_grace),
        completions=ChallengeCompletions(database, clock),
        catalogue=ChallengeCatalogue(database, clock),
        recaps=RecapService(database, asks),
        nudges=NudgeService(database, clock),
        privacy=PrivacyService(database, clock),
        channel_blocks=ChannelBlockService(database),
        thresholds=thresholds,
        setup=ServerSetupService(database, clock),
    )
