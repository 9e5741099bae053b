"""The delivery worker: posts what the outbox owes, exactly once, in each channel's order.

Rows come from two places: a command that just stored a fact hands over the post it claimed in
the same transaction (the fast path), and a sweep claims whatever is due (start-up, retries,
posts a stopped process left behind). Each channel has one lane that posts in order, so a busy
channel waits on Discord's per-channel limit without holding requests for every other channel.
A lane waits only for each send: opening the post's thread and storing its record run beside
the next send (``_finish_off_the_lane``).

Exactly once: before posting a row that an earlier attempt may have posted, the lane reads the
channel's history since that attempt for the bot's message carrying the row's marker (a custom
id or footer only that post has). Each attempt also sends a deterministic nonce, which lets
Discord itself drop a quick duplicate; the marker lookup is what covers a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import discord

from bot.db import utcnow
from bot.delivery.blocked_channels import PAUSED, BlockedChannels
from bot.delivery.permissions import missing_in
from bot.delivery.refusals import missing_permissions_reason, refusal_for
from bot.delivery.renderers import OutgoingPost, Renderers
from bot.errors import DatabaseUnavailable
from bot.services.outbox import CLAIM_LEASE, Outbox, PostClaim, PostState, PostStatus, Refusal

log = logging.getLogger(__name__)

# Give up on one send after this long (discord.py waits up to 30 s for a rate limit), well
# inside a claim's lease (renewed before each step); the next attempt looks for it first.
SEND_TIMEOUT = 40.0
# A send slower than this is worth a line in the log.
SLOW_SEND = 10.0
# How often the sweep looks for due posts when nothing wakes it.
SWEEP_INTERVAL = 15.0
# How far before an earlier attempt the history lookup starts (clock skew with Discord).
LOOKUP_MARGIN = timedelta(seconds=30)
LOOKUP_LIMIT = 500
LOOKUP_TIMEOUT = 15.0
# A claim older than this is renewed before it is relied on for a lookup or a send: younger, it
# outlasts the longest step (a send, SEND_TIMEOUT) within its lease. Claims waiting their turn
# in a weekly fan-out (a few seconds) need no extra write each.
FRESH_CLAIM = 15.0
RECENTLY_SETTLED = 1000
# A post that is up is announced before its record is stored (see _finish) only
# while this much of its claim's lease is left. The lease is counted here from when the claim
# reached this lane, which can be up to the writers' queue time (5 s) after it began; and
# another process reads it by its own clock.
LEASE_MARGIN = 15.0
# Turns of the event loop that carry a post's status to a command awaiting it in a gather.
TURNS_TO_REACH_WAITERS = 4
# How long stopping waits for the records of posts that are up (see _finish_off_the_lane).
RECORD_ON_STOP = 5.0
# Posts claimed and not yet settled, at most: what Discord's 50 requests/s lets out well inside
# a claim's lease. A weekly fan-out to thousands of servers is claimed as lanes free up, so no
# lease runs out while its post waits its turn (which would make another process look it up).
MAX_IN_FLIGHT = 200


SettledListener = Callable[[PostStatus], Awaitable[None]]
# Discord's answer when a message already has a thread.
THREAD_ALREADY_CREATED = 160004


def tag_key(name: str) -> str:
    """Forum tag names and command tags compared alike: "7th Grade" is "7th-grade"."""
    return "-".join(name.casefold().lstrip("#").split())


def nonce_for(post_id: int) -> str:
    """The same for every attempt at one post, so Discord can drop a quick duplicate."""
    return f"pln-outbox-{post_id}"


def markers_of(message: discord.Message) -> Iterable[str]:
    for row in message.components:
        for item in getattr(row, "children", ()):
            custom_id = getattr(item, "custom_id", None)
            if custom_id:
                yield custom_id
    for embed in message.embeds:
        if embed.footer.text:
            yield embed.footer.text


@dataclass
class _Lane:
    queue: asyncio.Queue[PostClaim] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None


class PostDelivery:
    """Delivers outbox posts for one process (``worker_id`` names it across restarts)."""

    def __init__(
        self,
        client: discord.Client,
        outbox: Outbox,
        renderers: Renderers,
        *,
        worker_id: str,
        blocks: BlockedChannels | None = None,
    ) -> None:
        self._client = client
        self._outbox = outbox
        # Channels where a permission was refused: not tried again until /pln check.
        self._blocks = blocks
        self.worker_id = worker_id
        self._renderers = renderers.posts
        self._listeners: list[SettledListener] = []
        self._lanes: dict[int, _Lane] = {}
        self._in_flight: dict[int, PostClaim] = {}
        self._claimed_at: dict[int, float] = {}
        self._rendered: dict[int, OutgoingPost] = {}
        # Posts settled lately, for a command that starts waiting just after its post settled.
        self._recently_settled: OrderedDict[int, PostStatus] = OrderedDict()
        self._waiters: dict[int, list[asyncio.Future[PostStatus]]] = {}
        self._wake = asyncio.Event()
        self._sweeper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._recording: set[asyncio.Task[None]] = set()

    # -- wiring -----------------------------------------------------------------------------

    def on_settled(self, listener: SettledListener) -> None:
        """Call ``listener`` whenever a post is posted or has failed for good."""
        self._listeners.append(listener)

    async def start(self) -> None:
        """Take back this worker's claims from its last run, then deliver what is due."""
        released = await self._outbox.release_claims(self.worker_id)
        if released:
            log.info("Resuming %d post(s) left in flight by the last run", released)
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="pln-outbox-sweep")

    async def stop(self) -> None:
        if self._recording:  # posts that are up: store them rather than look for them later
            await asyncio.wait(set(self._recording), timeout=RECORD_ON_STOP)
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        if self._sweeper is not None:
            tasks.append(self._sweeper)
        tasks.extend(self._tasks)
        tasks.extend(self._recording)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._lanes.clear()
        self._sweeper = None

    # -- handing over and waiting -----------------------------------------------------------

    def submit(self, claim: PostClaim, rendered: OutgoingPost | None = None) -> None:
        """Post a row this worker claimed while storing it; returns at once.

        ``rendered`` saves reading back what the command has just stored; a retry renders
        from storage again.
        """
        if claim.worker_id != self.worker_id:
            raise ValueError("a claim made for another worker")
        if rendered is not None:
            self._rendered[claim.post_id] = rendered
        self._enqueue(claim)

    def wake(self) -> None:
        """Look for due posts now (a row was stored without a claim)."""
        self._wake.set()

    async def wait(self, post_id: int, timeout: float) -> PostStatus | None:  # noqa: ASYNC109
        """The post's status once posted or failed, or None if still pending after ``timeout``."""
        settled = self._recently_settled.get(post_id)
        if settled is not None and settled.state is PostState.POSTED:  # final, unlike failed
            return settled
        if settled is not None and settled.state is PostState.FAILED:
            # It failed before the caller came to wait (a refused channel fails a card at
            # once) unless it was owed again since (sharing the link again retries it).
            with contextlib.suppress(DatabaseUnavailable):
                now = await self._outbox.status(post_id)
                if now is not None and now.state is PostState.FAILED:
                    return now
        future: asyncio.Future[PostStatus] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(post_id, []).append(future)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None
        finally:
            waiting = self._waiters.get(post_id, [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self._waiters.pop(post_id, None)

    # -- the sweep --------------------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        await self._client.wait_until_ready()
        while True:
            self._wake.clear()  # before looking, so a wake-up during the look is not lost
            delay = SWEEP_INTERVAL
            try:
                if self._blocks is not None:
                    await self._blocks.refresh_if_stale()
                due = await self._outbox.next_due_at()  # a read: idle sweeps write nothing
                room = MAX_IN_FLIGHT - len(self._in_flight)
                if due is not None and due <= utcnow() and room > 0:
                    for claim in await self._outbox.claim_due(self.worker_id, limit=min(room, 50)):
                        if claim.post_id in self._in_flight:  # queued here past its lease:
                            self._in_flight[claim.post_id] = claim  # the lane takes the new one
                            self._claimed_at[claim.post_id] = asyncio.get_running_loop().time()
                            continue
                        self._enqueue(claim)
                    due = await self._outbox.next_due_at()
                full = len(self._in_flight) >= MAX_IN_FLIGHT
                if due is not None and not full:  # when full, lanes wake the sweep as they drain
                    delay = min(delay, max((due - utcnow()).total_seconds(), 0.05))
            except DatabaseUnavailable:
                log.warning("Outbox sweep: the database did not answer; trying again soon")
            except Exception:
                log.exception("Outbox sweep failed; trying again soon")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    # -- lanes ------------------------------------------------------------------------------

    def _enqueue(self, claim: PostClaim) -> None:
        self._recently_settled.pop(claim.post_id, None)
        self._in_flight[claim.post_id] = claim
        self._claimed_at[claim.post_id] = asyncio.get_running_loop().time()
        lane = self._lanes.get(claim.channel_id)
        if lane is None:
            lane = self._lanes[claim.channel_id] = _Lane()
        lane.queue.put_nowait(claim)
        if lane.task is None or lane.task.done():
            lane.task = asyncio.create_task(
                self._run_lane(claim.channel_id, lane), name=f"pln-outbox-lane-{claim.channel_id}"
            )

    async def _run_lane(self, channel_id: int, lane: _Lane) -> None:
        while not lane.queue.empty():
            claim = lane.queue.get_nowait()
            claim = self._in_flight.get(claim.post_id, claim)  # the latest claim on it
            try:
                await self._deliver(claim)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Delivering post %s failed unexpectedly", claim.post_id)
            finally:
                self._in_flight.pop(claim.post_id, None)
                self._claimed_at.pop(claim.post_id, None)
                self._rendered.pop(claim.post_id, None)
                if len(self._in_flight) == MAX_IN_FLIGHT // 2:
                    self.wake()  # room again for posts the sweep left waiting
        if self._lanes.get(channel_id) is lane:
            del self._lanes[channel_id]

    async def _still_mine(self, claim: PostClaim) -> bool:
        """Renew a claim that is no longer fresh, so its lease outlasts the next step.

        False when it was taken over (the lease ran out meanwhile): leave it to its new holder.
        Each step after this one (a history lookup, one send) ends well inside a fresh lease.
        """
        loop = asyncio.get_running_loop()
        if loop.time() - self._claimed_at.get(claim.post_id, 0.0) < FRESH_CLAIM:
            return True
        if not await self._outbox.renew(claim):
            log.info("Post %s was taken over by another attempt; leaving it", claim.post_id)
            return False
        self._claimed_at[claim.post_id] = loop.time()
        return True

    async def _deliver(self, claim: PostClaim) -> None:
        if not await self._still_mine(claim):
            return
        post = self._rendered.pop(claim.post_id, None)
        renderer = self._renderers.get(claim.kind)
        if post is None and renderer is None:
            log.error("No renderer for outbox posts of kind %r", claim.kind)
            await self._refused(claim, Refusal("this bot version can't post it", permanent=False))
            return
        try:
            if post is None and renderer is not None:
                post = await renderer(claim)
        except DatabaseUnavailable:
            await self._refused(claim, Refusal("the database did not answer", permanent=False))
            return
        if post is None:
            await self._refused(claim, Refusal("what it was about was deleted", permanent=True))
            return
        if self._blocks is not None and self._blocks.is_blocked(claim.channel_id):
            await self._refused(claim, PAUSED)  # no request: Discord would refuse it again
            return
        # Through the guild: Client.get_channel looks through every guild the bot is in.
        guild = self._client.get_guild(claim.server_id)
        channel: Any = guild.get_channel_or_thread(claim.channel_id) if guild is not None else None
        if channel is None and guild is not None and not guild.unavailable:
            # A cached server without the channel: it was deleted (threads are looked up live).
            with contextlib.suppress(discord.HTTPException):
                channel = await self._client.fetch_channel(claim.channel_id)
        missing = missing_in(
            channel, guild.me if guild is not None else None, opens_thread=bool(post.thread_name)
        )
        if missing:  # known without a request: paused and told all the same
            await self._forbidden(claim, missing_permissions_reason(missing))
            return
        target: discord.abc.Messageable = (
            channel
            if isinstance(channel, discord.abc.Messageable)
            else self._client.get_partial_messageable(claim.channel_id, guild_id=claim.server_id)
        )
        try:
            if claim.edit_message_id is not None:
                if not await self._still_mine(claim):
                    return
                edited = await self._edit(target, claim.edit_message_id, post)
                if edited is not None:
                    await self._posted(claim, edited)
                    return
            if claim.may_be_posted:
                if not await self._still_mine(claim):
                    return
                found = await asyncio.wait_for(
                    self._find_marked(target, claim, post.marker), LOOKUP_TIMEOUT
                )
                if found is not None:
                    log.info("Post %s was already in the channel; not posting it again", claim)
                    if post.thread_name:
                        await self._open_thread(found, post.thread_name)
                    await self._posted(claim, found)
                    return
            if not await self._still_mine(claim):
                return
            if isinstance(channel, discord.ForumChannel) and post.thread_name:
                await self._post_in_forum(claim, channel, post)
                return
            started = asyncio.get_running_loop().time()
            # A timeout scope, not wait_for: the send starts in this step, not in a task of
            # its own a turn of the loop later.
            async with asyncio.timeout(SEND_TIMEOUT):
                message = await target.send(
                    content=post.content,
                    embed=post.embed,  # type: ignore[arg-type]
                    view=post.view,  # type: ignore[arg-type]
                    allowed_mentions=post.allowed_mentions,
                    nonce=nonce_for(claim.post_id),
                    files=post.attachments(),
                )
        except (discord.HTTPException, discord.RateLimited, TimeoutError, OSError) as error:
            await self._send_failed(claim, error)
            return
        took = asyncio.get_running_loop().time() - started
        if took > SLOW_SEND:
            log.warning("Post %s took %.1f s to send (rate limits?)", claim.post_id, took)
        self._finish_off_the_lane(claim, message, post.thread_name)

    async def _send_failed(self, claim: PostClaim, error: BaseException) -> None:
        log.warning("Post %s to channel %s: %r", claim.post_id, claim.channel_id, error)
        await self._forbidden(claim, refusal_for(error))

    def _finish_off_the_lane(
        self, claim: PostClaim, message: discord.Message, thread_name: str | None
    ) -> None:
        """Open a post's thread and record the post, while the lane sends the channel's next.

        The order of a channel's posts is the order Discord took them in, so only the sends
        must wait for each other. Finishing on the lane made every post wait for the one
        before it to be stored too (and its thread opened): round trips and a commit after
        another, which capped a busy channel (make bench: every /share's card in one channel)
        below what the bot could do. A crash before the record is stored is the case the
        marker lookup covers (it opens a missing thread too), as before; ``stop`` lets the
        records under way finish.
        """
        claimed_at = self._claimed_at.get(claim.post_id, 0.0)  # the lane forgets it next
        announce_until = claimed_at + CLAIM_LEASE.total_seconds() - LEASE_MARGIN
        task = asyncio.create_task(
            self._finish(claim, message, thread_name, announce_until), name="pln-outbox-finish"
        )
        self._recording.add(task)
        task.add_done_callback(self._recording.discard)

    async def _finish(
        self,
        claim: PostClaim,
        message: discord.Message,
        thread_name: str | None,
        announce_until: float,
    ) -> None:
        if thread_name:
            try:
                await self._open_thread(message, thread_name)
            except (discord.HTTPException, discord.RateLimited, TimeoutError, OSError) as error:
                await self._send_failed(claim, error)
                return
        if asyncio.get_running_loop().time() < announce_until:
            # Those waiting for the post (a command's answer, to link it) hear it is up before
            # its record is stored: that is a commit, and the answer waited for it (make bench,
            # /share paced: 1.5 ms of its 11). The message is the post's for good: the claim's
            # lease still holds, so no other attempt can have posted it, and a later one finds
            # this message by its marker. Listeners hear once it is recorded (``_settled``).
            self._tell_waiters(claim.posted_as(message.id))
            # Else the record's statements (inline on SQLite) hold the loop before the woken
            # answer runs: 0.7 ms of a paced /share's answer in make bench.
            for _ in range(TURNS_TO_REACH_WAITERS):
                await asyncio.sleep(0)
        await self._posted(claim, message)

    @staticmethod
    async def _open_thread(message: discord.Message, name: str) -> None:
        """Start the post's thread (it takes the message's id); one already there is fine."""
        if message.thread is not None:
            return
        try:
            await asyncio.wait_for(
                message.create_thread(name=name, auto_archive_duration=1440), SEND_TIMEOUT
            )
        except discord.HTTPException as error:
            if error.code != THREAD_ALREADY_CREATED:
                raise

    async def _post_in_forum(
        self, claim: PostClaim, forum: discord.ForumChannel, post: OutgoingPost
    ) -> None:
        """A forum post: its thread and starter message are one call (no nonce), so a retry
        first looks through the forum's threads for the starter message with the marker."""
        assert post.thread_name is not None
        if claim.may_be_posted:
            found = await asyncio.wait_for(
                self._find_forum_post(forum, claim, post.marker), LOOKUP_TIMEOUT
            )
            if found is not None:
                await self._posted(claim, found)
                return
        wanted = {tag_key(name) for name in post.forum_tags}
        tags = [tag for tag in forum.available_tags if tag_key(tag.name) in wanted][:5]
        if not await self._still_mine(claim):
            return
        created = await asyncio.wait_for(
            forum.create_thread(
                name=post.thread_name,
                content=post.content,
                embed=post.embed,  # type: ignore[arg-type]
                view=post.view,  # type: ignore[arg-type]
                applied_tags=tags,
                allowed_mentions=post.allowed_mentions,
            ),
            SEND_TIMEOUT,
        )
        await self._posted(claim, created.message)

    async def _find_forum_post(
        self, forum: discord.ForumChannel, claim: PostClaim, marker: str
    ) -> discord.Message | None:
        me = self._client.user
        since = claim.first_attempted_at - LOOKUP_MARGIN
        for thread in forum.threads:
            if me is None or thread.owner_id != me.id or thread.created_at is None:
                continue
            if thread.created_at < since:
                continue
            with contextlib.suppress(discord.NotFound):
                starter = await thread.fetch_message(thread.id)
                if marker in markers_of(starter):
                    return starter
        return None

    @staticmethod
    async def _edit(
        target: discord.abc.Messageable, message_id: int, post: OutgoingPost
    ) -> discord.Message | None:
        """Edit the post in place; None when its message was deleted (then it is posted anew)."""
        partial = discord.PartialMessage(channel=target, id=message_id)  # type: ignore[arg-type]
        try:
            return await asyncio.wait_for(
                partial.edit(
                    content=post.content,
                    embed=post.embed,
                    view=post.view,
                    allowed_mentions=discord.AllowedMentions.none(),
                ),
                SEND_TIMEOUT,
            )
        except discord.NotFound:
            return None

    async def _find_marked(
        self, channel: discord.abc.Messageable, claim: PostClaim, marker: str
    ) -> discord.Message | None:
        me = self._client.user
        after = discord.Object(
            discord.utils.time_snowflake(claim.first_attempted_at - LOOKUP_MARGIN)
        )
        async for message in channel.history(limit=LOOKUP_LIMIT, after=after, oldest_first=True):
            if me is not None and message.author.id == me.id and marker in markers_of(message):
                return message
        return None

    async def _posted(self, claim: PostClaim, message: discord.Message) -> None:
        try:
            status = await self._outbox.record_posted(claim, message.id)
        except DatabaseUnavailable:
            # The post is up but not recorded: the claim's lease runs out, and the next attempt
            # finds this message by its marker instead of posting again.
            log.warning("Post %s is up (message %s) but not yet recorded", claim, message.id)
            return
        if status.message_id != message.id:  # another worker's message was recorded first
            log.info("Post %s was posted twice; deleting message %s", claim.post_id, message.id)
            with contextlib.suppress(discord.HTTPException):
                await message.delete()
        await self._settled(status)

    async def _forbidden(self, claim: PostClaim, refusal: Refusal) -> None:
        """A refusal for a missing permission (from Discord, or foreseen from the cache) also
        pauses the channel until an admin fixes it and runs ``/pln check``, and tells them."""
        if self._blocks is not None:
            await self._blocks.refused(claim.server_id, claim.channel_id, refusal)
        await self._refused(claim, refusal)

    async def _refused(self, claim: PostClaim, refusal: Refusal) -> None:
        try:
            status = await self._outbox.record_refusal(claim, refusal)
        except DatabaseUnavailable:
            log.warning("Post %s: could not record %r; its lease will run out", claim, refusal)
            return
        if status is None:
            return
        if status.state is PostState.FAILED:
            log.warning(
                "Post %s (%s) failed for good in channel %s: %s",
                claim.post_id,
                claim.kind,
                claim.channel_id,
                refusal.reason,
            )
            await self._settled(status)
        else:
            self.wake()  # the sweep schedules the retry

    async def _settled(self, status: PostStatus) -> None:
        self._tell_waiters(status)
        for listener in self._listeners:  # off the lane: its next post need not wait for them
            task = asyncio.create_task(self._notify(listener, status))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _tell_waiters(self, status: PostStatus) -> None:
        self._recently_settled[status.post_id] = status
        while len(self._recently_settled) > RECENTLY_SETTLED:
            self._recently_settled.popitem(last=False)
        for future in self._waiters.pop(status.post_id, []):
            if not future.done():
                future.set_result(status)

    @staticmethod
    async def _notify(listener: SettledListener, status: PostStatus) -> None:
        try:
            await listener(status)
        except Exception:
            log.exception("A listener failed on settled post %s", status.post_id)
