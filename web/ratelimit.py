"""Rate limits on the `limits` package directly: resolved once per endpoint, one storage call per limit.

Why not flask-limiter (which is built on `limits`): its per-request bookkeeping (resolving the
route's limits, exemption scopes, meta limits, request context objects) cost about 300 µs a request
even on exempt routes, more than the work of a cached read. The rules are the same as before:
- every route not exempt and without a limit of its own counts RATELIMIT_DEFAULT per client address,
  per route (in `before_request`);
- `@limiter.limit(provider, key_func=...)` replaces the default for that route; it is counted when the
  view runs, so a limit below `auth_required` can key on the caller;
- fixed windows (`limits`' FixedWindowRateLimiter) in RATELIMIT_STORAGE_URI, keys under
  RATELIMIT_KEY_PREFIX; a breach answers 429 with Retry-After (web/errors.py);
- the store failing: every limit is counted per process in memory (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED)
  and the store is re-probed after 1, 2, 4 ... 32 s; with the fallback off, requests are served.
A cached public read can fold its default-limit hit into its cache read (`common.cache` runs both in
one Lua call): see `defer_to_cache`.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache, wraps

from flask import Flask, current_app, g, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, RedisStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

log = logging.getLogger(__name__)
_MAX_PROBE_EXPONENT = 5


def remote_address() -> str:
    """The client's address (behind a proxy, ProxyFix has put the real one there)."""
    return request.remote_addr or "127.0.0.1"


class RateLimitExceeded(TooManyRequests):
    """A limit was breached; `reset_at` is when its window ends (None: unknown, use the window length)."""

    def __init__(self, limit: RateLimitItem, reset_at: float | None = None) -> None:
        super().__init__(description=str(limit))
        self.limit, self.reset_at = limit, reset_at

    def seconds_to_reset(self) -> int:
        wait = self.reset_at - time.time() if self.reset_at is not None else self.limit.get_expiry()
        return max(1, int(-(-wait // 1)))


@lru_cache(maxsize=128)
def parse(text: str) -> tuple[RateLimitItem, ...]:
    """Limits from a string such as "10 per minute; 100 per hour" (parsed once per distinct string)."""
    return tuple(parse_many(text))


class _AppLimits:
    """One app's store, its in-memory fallback and the per-endpoint plan."""

    def __init__(self, app: Flask) -> None:
        config = app.config
        self.enabled = config["RATELIMIT_ENABLED"]
        self.prefix = config["RATELIMIT_KEY_PREFIX"]
        self.defaults = parse(config["RATELIMIT_DEFAULT"])
        self.fallback_enabled = config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"]
        self.uri = config["RATELIMIT_STORAGE_URI"]
        self.storage = storage_from_string(self.uri, **config.get("RATELIMIT_STORAGE_OPTIONS", {}))
        self.strategy = FixedWindowRateLimiter(self.storage)
        self.fallback = FixedWindowRateLimiter(MemoryStorage())
        self.dead = False
        self.probes, self.last_probe = 0, 0.0
        self.plans: dict[str | None, str] = {}
        cache = app.extensions.get("cache")
        # The hit can ride on a cache read only when both live in the same Redis database.
        self.shares_cache = (
            isinstance(self.storage, RedisStorage)
            and getattr(cache, "backend", None) == "redis"
            and cache.url == self.uri
        )

    def current(self) -> FixedWindowRateLimiter | None:
        """The store's limiter; the in-memory one while the store is down (None: fallback disabled)."""
        if self.dead and time.time() - self.last_probe > 2**self.probes:
            self.last_probe = time.time()
            self.probes = 0 if self.probes >= _MAX_PROBE_EXPONENT else self.probes + 1
            if self.storage.check():
                log.info("rate limit storage recovered")
                self.dead, self.probes = False, 0
        if not self.dead:
            return self.strategy
        return self.fallback if self.fallback_enabled else None

    def mark_dead(self, exc: Exception) -> None:
        log.warning("rate limit storage unreachable (%r): counting in memory", exc)
        self.dead, self.last_probe, self.probes = True, time.time(), 0

    def hit(self, items, identifiers: tuple[str, ...]) -> None:
        """Count one hit on each limit; RateLimitExceeded on the first one breached."""
        strategy = self.current()
        if strategy is None:
            return  # the store is down and the fallback is off: serve rather than fail
        try:
            self._hit(strategy, items, identifiers)
        except RateLimitExceeded:
            raise
        except Exception as exc:  # noqa: BLE001 - any store failure: count in memory (or serve)
            if strategy is self.fallback:
                raise
            self.mark_dead(exc)
            if self.fallback_enabled:
                self._hit(self.fallback, items, identifiers)

    def _hit(self, strategy, items, identifiers) -> None:
        for item in items:
            if not strategy.hit(item, *identifiers):
                raise RateLimitExceeded(item, self.reset_at(strategy, item, identifiers))

    def breached(self, item: RateLimitItem, identifiers, count: int) -> None:
        """A count read elsewhere (the cache's combined call): RateLimitExceeded if over the limit."""
        if count > item.amount:
            raise RateLimitExceeded(item, self.reset_at(self.strategy, item, identifiers))

    @staticmethod
    def reset_at(strategy, item, identifiers) -> float | None:
        # Asked only on the 429 path; if the store cannot answer, the window's length is an upper bound.
        try:
            return strategy.get_window_stats(item, *identifiers).reset_time
        except Exception as exc:  # noqa: BLE001 - a 429 must not become a 500
            log.warning("Retry-After from the window length: %r", exc)
            return None


class Limiter:
    """The app's rate limits (see the module docstring); one instance shared by every app."""

    def __init__(self, key_func) -> None:
        self.key_func = key_func
        self.enabled = True  # tests switch every limit off at once

    def init_app(self, app: Flask) -> None:
        app.extensions["ratelimit"] = _AppLimits(app)
        if self._before_request not in app.before_request_funcs.setdefault(None, []):
            app.before_request(self._before_request)

    @staticmethod
    def _state() -> _AppLimits:
        return current_app.extensions["ratelimit"]

    def limit(self, provider, key_func=None):
        """Count `provider()` (a limit string, read per request) per `key_func()` on this route instead
        of the default."""

        def decorator(fn):
            @wraps(fn)
            def wrapper(*args, **kwargs):
                state = self._state()
                if self.enabled and state.enabled:
                    key = (key_func or self.key_func)()
                    state.hit(parse(provider()), (state.prefix, key, request.endpoint))
                return fn(*args, **kwargs)

            wrapper._rate_limit = "own"
            return wrapper

        return decorator

    @staticmethod
    def exempt(fn):
        """No limit on this route."""
        fn._rate_limit = "exempt"
        return fn

    @staticmethod
    def defer_to_cache(fn):
        """This route's default-limit hit may ride on its cache read (one round trip); if the route
        read no cache entry, the hit is made when the view returns (or raises)."""

        @wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                result = fn(*args, **kwargs)
            except Exception:
                _settle()
                raise
            _settle()
            return result

        wrapper._rate_limit = "deferrable"
        return wrapper

    def _plan(self, state: _AppLimits) -> str:
        """ "default", "own", "exempt" or "deferrable" for the request's endpoint (resolved once)."""
        endpoint = request.endpoint
        plan = state.plans.get(endpoint)
        if plan is None:
            view = current_app.view_functions.get(endpoint) if endpoint else None
            if view is None or endpoint.rsplit(".", 1)[-1] == "static":
                plan = "exempt"
            else:
                plan = getattr(view, "_rate_limit", "default")
            state.plans[endpoint] = plan
        return plan

    def _before_request(self):
        state = self._state()
        if not (self.enabled and state.enabled):
            return
        plan = self._plan(state)
        if plan == "exempt" or plan == "own":
            return
        identifiers = (state.prefix, self.key_func(), request.endpoint)
        if plan == "deferrable" and state.shares_cache and not state.dead:
            g.deferred_limits = _Deferred(state, identifiers)
            return
        state.hit(state.defaults, identifiers)

    def reset(self) -> None:
        """Forget every counter of the current app (tests)."""
        state = self._state()
        state.storage.reset()
        state.fallback.storage.reset()


class _Deferred:
    """A default-limit hit waiting for the route's cache read (common.cache takes it from `g`)."""

    def __init__(self, state: _AppLimits, identifiers: tuple[str, ...]) -> None:
        self.state, self.identifiers, self.done = state, identifiers, False
        self.keys = [state.storage.prefixed_key(item.key_for(*identifiers)) for item in state.defaults]
        self.expiries = [item.get_expiry() for item in state.defaults]

    def counted(self, counts: list[int]) -> None:
        """The cache read incremented the counters: raise if one is over its limit."""
        self.done = True
        for item, count in zip(self.state.defaults, counts, strict=True):
            self.state.breached(item, self.identifiers, int(count))

    def settle(self) -> None:
        """No cache read took the hit: make it the ordinary way."""
        if not self.done:
            self.done = True
            self.state.hit(self.state.defaults, self.identifiers)


def _settle() -> None:
    deferred = g.pop("deferred_limits", None)
    if deferred is not None:
        deferred.settle()
