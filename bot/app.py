"""The bot: a discord.py ``commands.Bot`` that wires settings, storage, services and cogs.

Nothing happens at import time. The database engine and services are built in ``setup_hook``
(after login, before the gateway connects) and disposed in ``close``, so tests can start and
stop as many bots as they like against fresh databases.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import pkgutil
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, TypeVar

import discord
from discord.ext import commands

import cogs
from bot.command_sync import sync_commands
from bot.command_tree import CoachCommandTree
from bot.config import Settings
from bot.db import Database
from bot.db.migrate import upgrade
from bot.delivery.answers import AnswerDelivery
from bot.delivery.blocked_channels import BlockedChannels
from bot.delivery.posts import PostDelivery
from bot.delivery.renderers import Renderers
from bot.delivery.rest_limit import limit_rest_requests
from bot.delivery.weekly import WeeklyHooks, WeeklyRunner
from bot.discord_endpoints import apply_discord_endpoints
from bot.invite import invite_url
from bot.log_redaction import install_redaction
from bot.scheduling.clock import ShiftedClock
from bot.scheduling.ticker import WeeklyTicker
from bot.services.ingest import PassiveIngest
from bot.sharding import Shards
from bot.wiring import Services, build_services

log = logging.getLogger(__name__)

_Part = TypeVar("_Part")

WORKER_SLOT = "main"
YOUNG_COLLECTION_AFTER = 5_000


def worker_slot_for(shard_ids: tuple[int, ...] | None, shard_count: int | None) -> str:
    """One process per slot: the whole bot, or one set of shards (``shards-0.1-of-4``)."""
    if shard_ids is None or shard_count is None:
        return WORKER_SLOT
    return f"shards-{'.'.join(str(shard) for shard in sorted(shard_ids))}-of-{shard_count}"


def discover_extensions() -> list[str]:
    """Every module or package in ``cogs/`` whose name does not start with an underscore."""
    return sorted(
        f"{cogs.__name__}.{module.name}"
        for module in pkgutil.iter_modules(cogs.__path__)
        if not module.name.startswith("_")
    )


def preload_extensions() -> None:
    """Import every cog (and what it imports) before the event loop runs.

    ``load_extension`` runs in ``setup_hook``, inside the loop: importing Pillow, APScheduler and
    the challenge bank there would hold the loop for a tenth of a second. Loading an extension
    already imported only re-runs its own short module.
    """
    for extension in discover_extensions():
        importlib.import_module(extension)


async def migrate_database(url: str, *, echo: bool = False) -> None:
    database = Database(url, echo=echo, statement_timeout=None)
    try:
        await upgrade(database)
    finally:
        await database.dispose()


def _built(part: _Part | None, name: str) -> _Part:
    if part is None:
        raise RuntimeError(f"{name} is built in setup_hook; the bot has not logged in yet")
    return part


def bot_intents(*, members: bool = False) -> discord.Intents:
    """No privileged intent but, when configured, members (joins and leaves, for welcomes).

    The bot works from interactions and message metadata only; message content is never asked.
    """
    intents = discord.Intents.default()
    intents.message_content = False
    intents.members = members
    intents.presences = False
    intents.typing = False
    intents.dm_typing = False
    return intents


class PLNCoachBot(commands.Bot):
    """PLN Coach on one connection to Discord (or to the emulator, or through a REST proxy)."""

    def __init__(
        self,
        settings: Settings,
        *,
        force_command_sync: bool = False,
        guild_ready_timeout: float = 2.0,
        database_ready: bool = False,
        clock: ShiftedClock | None = None,
        **shard_options: Any,
    ) -> None:
        """``database_ready``: the caller migrated the database already (`pln-coach run` does,
        to report a database problem before logging in), so start-up need not look again.

        ``clock``: the time weekly posts go by (tests and the sandbox move it forward).
        """
        # The bot has no voice features; don't warn at every start that voice libraries are absent.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        # guild_ready_timeout: how long discord.py waits after the last GUILD_CREATE before
        # on_ready. Tests and the sandbox, whose guilds arrive at once, shorten it.
        super().__init__(
            guild_ready_timeout=guild_ready_timeout,
            # Give up on a REST call rather than wait out a rate limit longer than this: a post
            # must finish well inside its outbox claim (CLAIM_LEASE in bot/services/outbox.py).
            max_ratelimit_timeout=30.0,
            command_prefix=commands.when_mentioned,
            intents=bot_intents(members=settings.discord.members_intent),
            tree_cls=CoachCommandTree,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            chunk_guilds_at_startup=False,
            # No message cache: tracking reads messages as they arrive and everything else
            # from raw events, and discord.py searches its cache (1,000 messages, one by one)
            # on every reaction, edit and delete, and copies a cached message on each edit.
            max_messages=None,
            **shard_options,
        )
        self.settings = settings
        self.clock = clock or ShiftedClock(
            timedelta(seconds=settings.challenges.clock_shift_seconds)
        )
        self.force_command_sync = force_command_sync
        self._database_ready = database_ready
        # This process in outbox claims and owed answers: its slot (one process per slot; a
        # shard set once the bot is sharded), which a restart keeps so it can take back what the
        # last run left at once, and a per-run part, so two runs never pass for one another.
        slot = worker_slot_for(settings.discord.shard_ids, settings.discord.shard_count)
        self.worker_id = f"{slot}/{secrets.token_hex(4)}"
        limit_rest_requests(self.http, settings.discord.requests_per_second)
        self._services: Services | None = None
        # How each kind of post and answer is drawn; the cogs fill it in as they load.
        self.renderers = Renderers()
        self._posts: PostDelivery | None = None
        self._blocked_channels: BlockedChannels | None = None
        self._answers: AnswerDelivery | None = None
        self._ingest: PassiveIngest | None = None
        self._observers: dict[str, list[Callable[..., None]]] = {}
        # What cogs add to the weekly clock's ticks (nudges), filled in as they load.
        self.weekly_hooks = WeeklyHooks()
        self._weekly: WeeklyRunner | None = None
        self._ticker: WeeklyTicker | None = None

    @property
    def services(self) -> Services:
        return _built(self._services, "services")

    @property
    def blocked_channels(self) -> BlockedChannels:
        """Channels where posting paused after a refused permission, until ``/pln check``."""
        return _built(self._blocked_channels, "blocked channels")

    @property
    def posts(self) -> PostDelivery:
        """Delivers what the outbox owes channels (cogs register a renderer per post kind)."""
        return _built(self._posts, "post delivery")

    @property
    def answers(self) -> AnswerDelivery:
        """Completes members' deferred answers, also after a restart."""
        return _built(self._answers, "answer delivery")

    @property
    def weekly(self) -> WeeklyRunner:
        """Decides the weekly challenges and recaps when they fall due."""
        return _built(self._weekly, "the weekly posts")

    @property
    def served_shards(self) -> Shards:
        """The servers this process serves: all, unless it runs some shards of a bigger bot."""
        return Shards(self.settings.discord.shard_ids, self.settings.discord.shard_count)

    def owns(self, server_id: int) -> bool:
        return self.served_shards.owns(server_id)

    def schedules_changed(self) -> None:
        """Look at the weekly schedules again now (one was set, or the clock moved)."""
        if self._ticker is not None:
            self._ticker.wake()

    @property
    def ingest(self) -> PassiveIngest:
        """Stores passive signals (replies, reactions, threads) in batches."""
        return _built(self._ingest, "the passive-signal ingest")

    async def login(self, token: str) -> None:
        # `pln-coach run` hides the token from logs before anything starts; a bot embedded in
        # another program (the sandbox, tests, benchmarks) is covered here.
        install_redaction([token])
        apply_discord_endpoints(
            self.settings.discord.api_base_url, self.settings.discord.gateway_url
        )
        await super().login(token)

    @asynccontextmanager
    async def connected(
        self, token: str, *, ready_within: float = 30
    ) -> AsyncIterator[PLNCoachBot]:
        """Log in, run the gateway connection in the background, and wait until ready.

        For embedding the bot in another program (the sandbox, tests, benchmarks); `pln-coach
        run` uses ``start()``. On leaving the block the bot is closed and its task awaited.
        """
        connection: asyncio.Task[None] | None = None
        ready = asyncio.create_task(self.wait_until_ready())
        try:
            await self.login(token)
            connection = asyncio.create_task(self.connect(), name="pln-coach-gateway")
            done, _ = await asyncio.wait(
                {connection, ready}, timeout=ready_within, return_when=asyncio.FIRST_COMPLETED
            )
            if connection in done:
                error = connection.exception()
                raise ConnectionError("the gateway connection ended before ready") from error
            if ready not in done:
                raise TimeoutError(f"the bot was not ready after {ready_within} s")
            yield self
        finally:
            ready.cancel()
            await self.close()
            if connection is not None:
                await asyncio.wait({connection})  # its end must not hide the block's own error
                if not connection.cancelled() and connection.exception() is not None:
                    log.warning("Gateway connection ended with %r", connection.exception())

    async def setup_hook(self) -> None:
        # Migrating is blocking work (alembic loads and runs its scripts in Python), so it runs
        # on a thread with its own loop and its own engine, without the statement timeout that
        # keeps members' commands from hanging: a migration may rightly take minutes.
        if not self._database_ready:
            await asyncio.to_thread(asyncio.run, migrate_database(self.settings.database.url))
        database = Database(self.settings.database.url, echo=self.settings.database.echo)
        self._services = services = build_services(
            database,
            clock=self.clock,
            catch_up_grace=timedelta(hours=self.settings.challenges.catch_up_grace_hours),
        )
        self._blocked_channels = BlockedChannels(self, services.channel_blocks)
        self._posts = PostDelivery(
            self,
            services.outbox,
            self.renderers,
            worker_id=self.worker_id,
            blocks=self._blocked_channels,
        )
        self._answers = AnswerDelivery(
            self, services.answers, services.outbox, self.renderers, worker_id=self.worker_id
        )
        self._posts.on_settled(self._answers.post_settled)
        await services.privacy.load_paused()  # before the first signal is stored
        self._ingest = PassiveIngest(database, paused=services.privacy.paused)
        self._ingest.start()
        self._weekly = WeeklyRunner(
            services.weekly_posts,
            services.completions,
            clock=self.clock,
            shards=self.served_shards,
            wake_delivery=self._posts.wake,
            hooks=self.weekly_hooks,
        )
        for extension in discover_extensions():
            await self.load_extension(extension)
        # Both wait for the gateway to be ready before they post anything.
        await self._posts.start()
        await self._answers.start()
        self._ticker = WeeklyTicker(self.weekly.tick, self.clock)
        self.clock.on_shift(self.schedules_changed)
        assert self.application_id is not None  # known after login
        await sync_commands(
            self.tree,
            self.services.state,
            application_id=self.application_id,
            dev_guild_id=self.settings.discord.dev_guild_id,
            force=self.force_command_sync,
        )

    def observe(self, event_name: str, observer: Callable[..., None]) -> None:
        """Call ``observer`` synchronously, in discord.py's dispatch, for every ``event_name``.

        For work that must not wait for the event loop's next turn (listeners run as tasks,
        which under a burst of gateway traffic start only once discord.py stops reading).
        Observers must be quick and must not raise.
        """
        self._observers.setdefault(event_name, []).append(observer)

    def forget_observer(self, event_name: str, observer: Callable[..., None]) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._observers[event_name].remove(observer)

    def dispatch(self, event_name: str, /, *args: Any, **kwargs: Any) -> None:
        for observer in self._observers.get(event_name, ()):
            try:
                observer(*args, **kwargs)
            except Exception:
                log.exception("Observer of %s failed", event_name)
        if (
            event_name == "message"
            and not self.extra_events.get("on_message")
            and not self._listeners.get("message")
        ):
            # Slash commands only, and nobody listens for messages: discord.py would start a
            # task per message just to run the no-op on_message below (~7% of a busy gateway).
            return
        super().dispatch(event_name, *args, **kwargs)

    async def on_message(self, message: discord.Message, /) -> None:
        """Ignore messages: PLN Coach has slash commands only, no text commands.

        (commands.Bot would otherwise log a CommandNotFound error for every "@PLN Coach hi".)
        """

    async def on_ready(self) -> None:
        log.info("Connected as %s to %d servers", self.user, len(self.guilds))
        # What start-up built (modules, cogs, statements, the cache of servers) lives as long
        # as the bot: out of the collector's way, a full collection stays a short pause.
        gc.freeze()
        # Collect the young generation every YOUNG_COLLECTION_AFTER allocations, not Python's
        # 700: under make bench's load (/share, /progress, suggest) 451 collections took 202 ms
        # in all, three of them full; at 5,000, 23 took 76 ms, none full, the longest pause the
        # same (about 10 ms).
        gc.set_threshold(YOUNG_COLLECTION_AFTER, *gc.get_threshold()[1:])
        if self._ticker is not None and not self._ticker.running:
            self._ticker.start()  # weekly posts go out once the bot can post
        if self.application_id:
            log.info("Invite me to a server: %s", invite_url(self.application_id))

    async def close(self) -> None:
        if self._ticker is not None:
            self.clock.forget(self.schedules_changed)
            await self._ticker.stop()
        if self._weekly is not None:
            await self._weekly.stop()
        for delivery in (self._posts, self._answers):
            if delivery is not None:
                await delivery.stop()
        await super().close()  # no new signals after the gateway is closed
        if self._ingest is not None:
            try:
                await self._ingest.stop()  # a clean stop stores every queued signal
            except Exception:
                log.exception("Passive signals could not be stored at shutdown")
        if self._services is not None:
            await self._services.suggestions.close()
            await self._services.database.dispose()
            self._services = None


class ShardedPLNCoachBot(PLNCoachBot, commands.AutoShardedBot):
    """One process of a sharded bot: the shards in ``discord.shard_ids`` of ``shard_count``.

    Several such processes share one PostgreSQL database. Each serves its shards' gateway
    events and commands, and decides its servers' weekly posts; any process can post anywhere
    over REST, so one that dies has its servers' posts made by another once they are overdue.
    """


def create_bot(settings: Settings, **options: Any) -> PLNCoachBot:
    """The bot this configuration asks for: sharded when ``discord.shard_ids`` is set."""
    ids, count = settings.discord.shard_ids, settings.discord.shard_count
    if ids is None or count is None:
        return PLNCoachBot(settings, **options)
    return ShardedPLNCoachBot(settings, shard_ids=list(ids), shard_count=count, **options)
