"""Rate limits on the `limits` package directly: resolved once per endpoint, no round trip per request
for the default limit.

Why not flask-limiter (which is built on `limits`): its per-request bookkeeping (resolving the
route's limits, exemption scopes, meta limits, request context objects) cost about 300 µs a request
even on exempt routes, more than the work of a cached read. The rules are the same as before:
- every route not exempt and without a limit of its own counts RATELIMIT_DEFAULT per client address,
  per route (in `before_request`). That limit is a flood guard on every route, so it is counted in
  the process and added to the store in one call every RATELIMIT_SYNC_SECONDS (see `_SharedCounts`):
  a process sees its own hits at once and the other processes' as of their last sync;
- `@limiter.limit(provider, key_func=...)` replaces the default for that route; it is counted when the
  view runs, so a limit below `auth_required` can key on the caller. These limits (sign-in,
  payments, forum posts) are exact: one storage call per hit;
- fixed windows (`limits`' FixedWindowRateLimiter, whose counter keys the default limit also uses) in
  RATELIMIT_STORAGE_URI, keys under RATELIMIT_KEY_PREFIX; a breach answers 429 with Retry-After
  (web/errors.py);
- the store failing: every limit is counted per process in memory (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED)
  and the store is re-probed after 1, 2, 4 ... 32 s; with the fallback off, requests are served.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache, wraps

from flask import Flask, current_app, request
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
        self.shared = _SharedCounts(self, config["RATELIMIT_SYNC_SECONDS"])

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

    def _plan(self, state: _AppLimits) -> str:
        """ "default", "own" or "exempt" for the request's endpoint (resolved once)."""
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
        state.shared.hit(state.defaults, (state.prefix, self.key_func(), request.endpoint))

    def reset(self) -> None:
        """Forget every counter of the current app (tests)."""
        state = self._state()
        state.storage.reset()
        state.fallback.storage.reset()
        state.shared.forget()


# Adds each counter's new hits to the store as the `limits` package's fixed window counts them (INCRBY,
# EXPIRE on the window's first hit): ARGV holds (hits, window seconds) per key. Returns, per key, the
# store's count and the milliseconds left in its window.
_ADD_COUNTS = """
local out = {}
for i, key in ipairs(KEYS) do
  local hits = tonumber(ARGV[2 * i - 1])
  local count = redis.call('INCRBY', key, hits)
  if count == hits then redis.call('EXPIRE', key, ARGV[2 * i]) end
  out[i] = {count, redis.call('PTTL', key)}
end
return out
"""


@dataclass
class _Count:
    """One client's counter on one route in this process: the store's count at the last sync
    (`known`), hits not yet added to the store (`pending`) or being added (`sending`)."""

    window_end: float
    expiry: int  # the window's length, seconds
    known: int = 0
    pending: int = 0
    sending: int = 0


class _SharedCounts:
    """The default limit, counted in the process and added to the store every `interval` seconds.

    A request adds one to its counter and is refused when the store's count as of the last sync plus
    this process's hits since then is over the limit. So one process alone is exact, and several
    together can let a client through by at most what it sent to the others within one interval:
    right for a flood guard, and it takes the round trip off every request (a cached read otherwise
    pays more for counting than for its answer). A sync is one storage call for every counter that
    moved, made by the request that finds it due. `interval` 0: every hit is added at once (exact
    across processes, one call per request). The store unreachable: the counts stay in the process
    (the in-memory fallback) or, with the fallback off, nothing is refused, as for the other limits.
    `limits` itself has no batched counting, hence this class; the counter keys are the library's.
    """

    def __init__(self, state: _AppLimits, interval: float) -> None:
        self.state, self.interval = state, interval
        self.counts: dict[str, _Count] = {}
        self.lock, self.syncing = threading.Lock(), threading.Lock()
        self.next_sync = 0.0
        self.script = None
        if isinstance(state.storage, RedisStorage):
            self.script = state.storage.storage.register_script(_ADD_COUNTS)

    def hit(self, items: tuple[RateLimitItem, ...], identifiers: tuple[str, ...]) -> None:
        """Count one hit on each limit; RateLimitExceeded on the first one breached."""
        now = time.time()
        counted = []
        with self.lock:
            for item in items:
                key = item.key_for(*identifiers)
                count = self.counts.get(key)
                if count is None or count.window_end <= now:
                    count = self.counts[key] = _Count(now + item.get_expiry(), item.get_expiry())
                count.pending += 1
                counted.append((item, count))
        if self.interval <= 0 or time.monotonic() >= self.next_sync:
            self.sync()
        if self.state.dead and not self.state.fallback_enabled:
            return  # the store is down and the fallback is off: serve rather than fail
        for item, count in counted:
            if count.known + count.sending + count.pending > item.amount:
                raise RateLimitExceeded(item, count.window_end)

    def sync(self) -> None:
        """Add the hits counted since the last sync to the store (one call; one thread at a time)."""
        if not self.syncing.acquire(blocking=False):
            return  # another thread is syncing: this request's hit goes with the next one
        try:
            now = time.time()
            with self.lock:
                self.next_sync = time.monotonic() + self.interval
                batch = []
                for key, count in list(self.counts.items()):
                    if count.pending:
                        batch.append((key, count, count.pending))
                        count.sending, count.pending = count.pending, 0
                    elif count.window_end <= now:
                        del self.counts[key]  # a finished window with nothing left to add
            if batch:
                self._send(batch)
        finally:
            self.syncing.release()

    def _send(self, batch: list[tuple[str, _Count, int]]) -> None:
        state = self.state
        if state.dead:
            state.current()  # re-probes the store when its backoff is over
        results = None
        if not state.dead:
            try:
                results = self._add(batch)
            except Exception as exc:  # noqa: BLE001 - any store failure: count in memory (or serve)
                state.mark_dead(exc)
        with self.lock:
            for i, (_key, count, hits) in enumerate(batch):
                count.sending = 0
                if results is None:
                    count.known += hits  # kept in the process while the store is unreachable
                else:
                    count.known, count.window_end = results[i]

    def _add(self, batch) -> list[tuple[int, float]]:
        """Add each counter's hits to the store: [(the store's count, its window's end)]."""
        storage = self.state.storage
        if self.script is None:  # memory:// and other stores: the library's calls, one per counter
            return [
                (storage.incr(key, count.expiry, amount=hits), storage.get_expiry(key))
                for key, count, hits in batch
            ]
        args = [value for _, count, hits in batch for value in (hits, count.expiry)]
        rows = self.script(keys=[storage.prefixed_key(key) for key, _, _ in batch], args=args)
        now = time.time()
        return [(int(count), now + max(int(ttl), 0) / 1000) for count, ttl in rows]

    def forget(self) -> None:
        """Drop every counter of this process (tests reset the store with it)."""
        with self.lock:
            self.counts.clear()
