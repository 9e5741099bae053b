"""Completing members' deferred answers: now, when their post settles, or after a restart.

An answer is rendered from what is stored (its kind's renderer reads the action and the post it
talks about) and edited into the member's "thinking..." message through the interaction token.
Rendering from storage makes delivery repeatable: a second delivery shows the same, or fresher,
facts. So an answer is final once its post is settled; until then the member sees where the post
stands and the answer is delivered again when the post settles. Delivered answers are forgotten
in batches, off the command's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import cast

import discord

from bot.db import utcnow
from bot.delivery.renderers import Renderers
from bot.errors import DatabaseUnavailable
from bot.services.answers import OwedAnswer, PendingAnswers
from bot.services.outbox import Outbox, PostState, PostStatus

log = logging.getLogger(__name__)

# How often stored answers are looked at again: forgetting delivered ones, and retrying those
# whose delivery failed or whose post settled in another process.
SWEEP_INTERVAL = 2.0
RETRY_INTERVAL = 30.0
# Discord's answers to an edit that can never succeed: the token expired or the message is gone.
_GONE = {10008, 10015, 50027}


@dataclass(frozen=True)
class RenderedAnswer:
    """An answer's text and the state of its post it was rendered with."""

    content: str
    post: PostStatus | None = None


class AnswerDelivery:
    def __init__(
        self,
        client: discord.Client,
        answers: PendingAnswers,
        outbox: Outbox,
        renderers: Renderers,
        *,
        worker_id: str,
    ) -> None:
        self._worker_id = worker_id
        self._client = client
        self._answers = answers
        self._outbox = outbox
        self._renderers = renderers.answers
        self._locks: dict[int, asyncio.Lock] = {}
        # Answers a command in this process is completing itself right now.
        self._handled: set[int] = set()
        # Answers shown while their post was still pending: delivered again once it settles.
        self._interim: dict[int, OwedAnswer] = {}
        # Delivered for good, to be forgotten in the next batch.
        self._done: set[int] = set()
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="pln-answers-sweep")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        with contextlib.suppress(Exception):
            await self._forget_done()

    @asynccontextmanager
    async def handling(self, answer: OwedAnswer) -> AsyncIterator[None]:
        """Mark an answer as one the current command delivers, so a settling post leaves it."""
        if answer.id is None:
            yield
            return
        self._handled.add(answer.id)
        try:
            yield
        finally:
            self._handled.discard(answer.id)
        # The post may have settled while the command showed it as pending.
        if answer.id in self._interim:
            await self._settled_meanwhile(answer)

    async def deliver(self, answer: OwedAnswer, rendered: RenderedAnswer | None = None) -> None:
        """Render the answer from storage (unless the command already did) and edit it in.

        Never raises. A stored answer stays stored until it is final (its post settled), so a
        failure here is retried by the sweep, and a crash by the next start.
        """
        if answer.ticket.expires_at <= utcnow():
            self._finish(answer)
            return
        lock = self._locks.setdefault(answer.id, asyncio.Lock()) if answer.id else None
        async with lock or contextlib.nullcontext():
            if answer.id is not None and answer.id in self._done:
                return
            try:
                if rendered is None:
                    rendered = await self._render(answer)
                    if rendered is None:
                        return
                post = rendered.post
                await self._edit_original(answer, rendered.content)
            except discord.HTTPException as error:
                if error.code in _GONE or error.status == 404:
                    self._finish(answer)
                else:
                    log.warning("Could not deliver answer %s: %s", answer.id, error)
                return
            except (DatabaseUnavailable, OSError, TimeoutError) as error:
                log.warning("Could not deliver answer %s yet: %s", answer.id, error)
                return
            except Exception:
                log.exception("Rendering answer %s (%s) failed", answer.id, answer.kind)
                return
            interim = post is not None and post.state is PostState.PENDING
            if interim:
                if answer.id is not None:
                    self._interim[answer.id] = answer
            else:
                self._finish(answer)
        if answer.id is not None and answer.id in self._done:
            self._locks.pop(answer.id, None)
        elif answer.id is not None and answer.id not in self._interim:
            self._locks.pop(answer.id, None)  # failed: the sweep retries it, with a new lock
        elif interim and answer.id not in self._handled:  # (a command checks for itself)
            await self._settled_meanwhile(answer)

    async def _settled_meanwhile(self, answer: OwedAnswer) -> None:
        """Deliver an answer just shown as pending again if its post settled meanwhile.

        ``post_settled`` finishes the answers noted as interim; one whose post settled between
        reading the post's state and being noted was missed, and stayed "on its way" until the
        sweep's next retry (seen after a restart: a card up, its member's answer not linking it).
        """
        if answer.post_id is None:
            return
        with contextlib.suppress(DatabaseUnavailable):
            status = await self._outbox.status(answer.post_id)
            if status is not None and status.state is not PostState.PENDING:
                await self.deliver(answer)

    async def _render(self, answer: OwedAnswer) -> RenderedAnswer | None:
        renderer = self._renderers.get(answer.kind)
        if renderer is None:
            log.warning("No renderer for answers of kind %r (is its cog loaded?)", answer.kind)
            return None
        post = await self._outbox.status(answer.post_id) if answer.post_id else None
        return RenderedAnswer(await renderer(answer, post), post)

    async def post_settled(self, status: PostStatus) -> None:
        """Finish the answers shown while this post was pending (commands finish their own).

        Only answers this process has shown are known here; one left by another process or a
        crash is found by the sweep, which delivers it with the post's current state.
        """
        waiting = [
            answer
            for answer in self._interim.values()
            if answer.post_id == status.post_id and answer.id not in self._handled
        ]
        await asyncio.gather(*(self.deliver(answer) for answer in waiting))

    def _finish(self, answer: OwedAnswer) -> None:
        if answer.id is not None:
            self._interim.pop(answer.id, None)
            self._done.add(answer.id)
            lock = self._locks.get(answer.id)
            if lock is not None and not lock.locked():
                del self._locks[answer.id]

    async def _edit_original(self, answer: OwedAnswer, content: str) -> None:
        """Edit the member's deferred answer through its interaction webhook.

        Through discord.py's webhook client, as ``Interaction.edit_original_response`` does, not
        the bot's REST client: that one keeps a rate-limit bucket per route key for five
        minutes, every interaction token is a key of its own, and past 256 keys each new one
        makes it walk all of them (at 100 answers a second, 15% of the bot's time went there).
        """
        ticket = answer.ticket
        webhook = discord.Webhook.partial(ticket.application_id, ticket.token, client=self._client)
        # "@original" is the interaction's first answer: Discord's id for it in this route.
        original = cast(int, "@original")
        await webhook.edit_message(
            original, content=content, allowed_mentions=discord.AllowedMentions.none()
        )

    # -- the sweep --------------------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        await self._client.wait_until_ready()
        since_retry = RETRY_INTERVAL  # the first pass completes what the last run left
        while True:
            try:
                if since_retry >= RETRY_INTERVAL:
                    since_retry = 0.0
                    await self._retry_stored()
                await self._forget_done()
            except DatabaseUnavailable:
                log.warning("Answer sweep: the database did not answer; trying again soon")
            except Exception:
                log.exception("Answer sweep failed; trying again soon")
            await asyncio.sleep(SWEEP_INTERVAL)
            since_retry += SWEEP_INTERVAL

    async def _retry_stored(self) -> None:
        """Deliver stored answers nobody here is completing: left by a crash, or that failed."""
        now = utcnow()
        for answer in list(self._interim.values()):  # past Discord's window: nothing to edit
            if answer.ticket.expires_at <= now:
                self._finish(answer)
        skip = self._handled | self._done | set(self._interim)
        owed = await self._answers.unexpired(self._worker_id, exclude=skip)
        statuses = await self._outbox.statuses(
            [answer.post_id for answer in self._interim.values() if answer.post_id]
        )
        settled = [
            answer
            for answer in self._interim.values()
            # A post that is gone (its server or member was forgotten) counts as settled.
            if (
                answer.post_id not in statuses
                or statuses[answer.post_id].state is not PostState.PENDING
            )
            and answer.id not in self._handled
        ]
        if owed:
            log.info("Completing %d answer(s) owed to members", len(owed))
        await asyncio.gather(*(self.deliver(answer) for answer in [*owed, *settled]))
        await self._answers.forget(())  # and drop those whose window closed

    async def _forget_done(self) -> None:
        batch = set(self._done)
        if batch:
            await self._answers.forget(batch)
            self._done -= batch
