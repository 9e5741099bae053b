"""Discord's REST rate limits: per-route buckets, the global limit, and injected 429s.

Buckets are keyed by route (method + path template) and the route's top-level resource (channel,
guild, or webhook id + token), like Discord; each window opens at its first request. Every answer
carries the ``X-RateLimit-*`` headers discord.py plans with, and 429s carry ``Via`` so discord.py
retries instead of assuming a Cloudflare ban.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RouteLimit:
    limit: int
    window: float


DEFAULT_ROUTE_LIMITS: dict[str, RouteLimit] = {
    "POST /channels/{channel_id}/messages": RouteLimit(5, 5.0),
    "PATCH /channels/{channel_id}/messages/{message_id}": RouteLimit(5, 5.0),
    "DELETE /channels/{channel_id}/messages/{message_id}": RouteLimit(5, 1.0),
    "GET /channels/{channel_id}/messages": RouteLimit(50, 1.0),
    # Reactions are famously slow: one per quarter second per channel.
    "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me": RouteLimit(1, 0.25),
    "PUT /applications/{application_id}/commands": RouteLimit(5, 20.0),
    "POST /applications/{application_id}/commands": RouteLimit(5, 20.0),
    "PATCH /applications/{application_id}/commands/{command_id}": RouteLimit(5, 20.0),
    "PUT /applications/{application_id}/guilds/{guild_id}/commands": RouteLimit(5, 20.0),
    "POST /applications/{application_id}/guilds/{guild_id}/commands": RouteLimit(5, 20.0),
    "PATCH /applications/{application_id}/guilds/{guild_id}/commands/{command_id}": RouteLimit(
        5, 20.0
    ),
    "POST /interactions/{interaction_id}/{interaction_token}/callback": RouteLimit(5, 1.0),
    "POST /webhooks/{webhook_id}/{webhook_token}": RouteLimit(5, 2.0),
    "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}": RouteLimit(5, 2.0),
}
DEFAULT_LIMIT = RouteLimit(50, 1.0)
# Routes whose callers are identified by a token in the path, not the bot's Authorization header.
GLOBAL_EXEMPT_PREFIXES = ("/interactions/", "/webhooks/")


@dataclass
class _Bucket:
    limit: int
    window: float
    remaining: int
    reset_at: float


@dataclass
class _Injection:
    method: str
    prefix: str
    count: int
    retry_after: float
    is_global: bool


@dataclass
class Verdict:
    """Outcome for one request: headers to send, and a 429 body if it must be refused."""

    headers: dict[str, str] = field(default_factory=dict)
    limited: dict[str, object] | None = None


class RateLimiter:
    def __init__(
        self, global_limit: int, route_limits: Mapping[str, RouteLimit] | None = None
    ) -> None:
        self.global_limit = global_limit
        self.route_limits: dict[str, RouteLimit] = dict(DEFAULT_ROUTE_LIMITS)
        if route_limits:
            self.route_limits.update(route_limits)
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._global: dict[str, list[float]] = {}
        self._injections: list[_Injection] = []

    def inject(
        self, method: str, prefix: str, *, count: int, retry_after: float, is_global: bool
    ) -> None:
        self._injections.append(_Injection(method.upper(), prefix, count, retry_after, is_global))

    @staticmethod
    def bucket_hash(route_key: str) -> str:
        return hashlib.sha1(route_key.encode(), usedforsecurity=False).hexdigest()[:32]

    def check(
        self, method: str, path: str, route: str, major: str, identity: str | None
    ) -> Verdict:
        """Decide for a request (path and route without /api/v10); let through, it uses quota."""
        now = time.monotonic()
        route_key = f"{method} {route}"
        injected = self._take_injection(method, path, route)
        if injected is not None:
            return self._limited(
                injected.retry_after,
                is_global=injected.is_global,
                scope="user",
                bucket=self._peek(route_key, major, now),
            )
        if identity is not None and not route.startswith(GLOBAL_EXEMPT_PREFIXES):
            # A one-second window opened by the first request, like the route buckets.
            window = self._global.get(identity)
            if window is None or now >= window[0] + 1.0:
                window = [now, 0]
                self._global[identity] = window
            if window[1] >= self.global_limit:
                return self._limited(
                    window[0] + 1.0 - now, is_global=True, scope="global", bucket=None
                )
            window[1] += 1
        bucket = self._bucket(route_key, major, now)
        if bucket.remaining <= 0:
            return self._limited(
                bucket.reset_at - now, is_global=False, scope="user", bucket=(route_key, bucket)
            )
        bucket.remaining -= 1
        return Verdict(headers=self._headers(route_key, bucket, now))

    def _take_injection(self, method: str, path: str, route: str) -> _Injection | None:
        for injection in self._injections:
            if injection.method != method.upper():
                continue
            if path.startswith(injection.prefix) or route.startswith(injection.prefix):
                injection.count -= 1
                if injection.count <= 0:
                    self._injections.remove(injection)
                return injection
        return None

    def _bucket(self, route_key: str, major: str, now: float) -> _Bucket:
        key = (route_key, major)
        bucket = self._buckets.get(key)
        limit = self.route_limits.get(route_key, DEFAULT_LIMIT)
        if bucket is None or now >= bucket.reset_at:
            bucket = _Bucket(limit.limit, limit.window, limit.limit, now + limit.window)
            self._buckets[key] = bucket
        return bucket

    def _peek(self, route_key: str, major: str, now: float) -> tuple[str, _Bucket]:
        return route_key, self._bucket(route_key, major, now)

    def _headers(self, route_key: str, bucket: _Bucket, now: float) -> dict[str, str]:
        reset_after = max(bucket.reset_at - now, 0.0)
        return {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(max(bucket.remaining, 0)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": self.bucket_hash(route_key),
        }

    def _limited(
        self,
        retry_after: float,
        *,
        is_global: bool,
        scope: str,
        bucket: tuple[str, _Bucket] | None,
    ) -> Verdict:
        retry_after = max(retry_after, 0.001)
        headers: dict[str, str] = {}
        if bucket is not None:
            route_key, state = bucket
            now = time.monotonic()
            headers = self._headers(route_key, state, now)
        headers.update(
            {
                "Retry-After": str(math.ceil(retry_after)),
                "X-RateLimit-Scope": scope,
                "Via": "1.1 google",
            }
        )
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body: dict[str, object] = {
            "message": "You are being rate limited.",
            "retry_after": math.ceil(retry_after * 1000) / 1000,
            "global": is_global,
        }
        return Verdict(headers=headers, limited=body)
