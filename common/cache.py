"""Key-value cache: Redis when REDIS_URL is set, an in-process store on the embedded default.

Used for hot reads (catalogue, outlines, leaderboards), the token blocklist and token versions.
Values are bytes/str; `get_json`/`set_json` wrap JSON. Redis errors surface as
`CacheUnavailable` so callers decide whether to fail open (cached reads) or closed (auth).
Versioned families (`read_versioned`, `bump`) keep invalidation correct across processes: an entry's
key embeds its family's version counter, and writers bump the counter after commit.
`set_if_newer` is a compare-and-set on a numeric rank, so a stale writer never overwrites a newer value.

Every Redis client has short socket/connect timeouts, no client-side retries, and a circuit breaker
(the `circuitbreaker` package): after one connection failure or timeout, calls fail at once with
`CacheUnavailable` for REDIS_BREAKER_SECONDS, then one call is let through to probe recovery.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis
from circuitbreaker import STATE_HALF_OPEN, STATE_OPEN, CircuitBreaker
from flask import current_app, g, has_request_context
from redis.backoff import NoBackoff
from redis.retry import Retry


class CacheUnavailable(Exception):
    """The cache backend cannot be reached."""


def versioned_key(prefix: str, version: bytes | None, suffix: str) -> str:
    """The key of an entry in a versioned family: `<prefix><version><suffix>` (a missing counter is 0)."""
    return f"{prefix}{(version or b'0').decode()}{suffix}"


# Reads a family's version counter and the entry under that version in one round trip. The entry's
# key is derived inside the script, so this needs a single Redis node (not Redis Cluster).
_READ_VERSIONED = """
local version = redis.call('GET', KEYS[1]) or '0'
return {version, redis.call('GET', ARGV[1] .. version .. ARGV[2])}
"""

# Wraps a read script so it also counts a request's rate-limit hits, in the same round trip: the
# last ARGV is how many counters ride along; before it, their expiries; the last KEYS, their keys.
# Each counter is counted as the `limits` package's fixed window counts (INCRBY, EXPIRE on the first
# hit), so the rate limiter reads and resets the same keys. Returns {counts, the read's result}.
_COUNTING = """
local n = tonumber(table.remove(ARGV))
local expiries, counters, counts = {}, {}, {}
for i = n, 1, -1 do
  expiries[i] = table.remove(ARGV)
  counters[i] = table.remove(KEYS)
end
for i = 1, n do
  local current = redis.call('INCRBY', counters[i], 1)
  if current == 1 then redis.call('EXPIRE', counters[i], expiries[i]) end
  counts[i] = current
end
local function read()
%s
end
return {counts, read()}
"""


def counting_script(source: str) -> str:
    """A read script that also counts the rate-limit hits `deferred_hits()` hands it (see _COUNTING)."""
    return _COUNTING % source


def deferred_hits():
    """The request's rate-limit hit waiting for a cache read (set by web/ratelimit.py), or None.

    It has `keys`, `expiries`, and `counted(counts)`, which raises when a limit is breached."""
    if not has_request_context():
        return None
    deferred = g.get("deferred_limits")
    return deferred if deferred is not None and not deferred.done else None


def run_counting(script, keys: list, args: list):
    """Run a script made by `counting_script` with the request's deferred hits (if any); returns the
    read's result after handing the counts over (which may raise the rate limiter's 429)."""
    hits = deferred_hits()
    extra_keys, extra_args = (hits.keys, [*hits.expiries, len(hits.keys)]) if hits else ([], [0])
    counts, result = script(keys=[*keys, *extra_keys], args=[*args, *extra_args])
    if hits:
        hits.counted(counts)
    return result


# Compare-and-set on a rank: store ARGV[2] (for ARGV[3] seconds; 0 = no expiry) unless the stored
# value's rank, the number before its first ':', is higher. Equal ranks overwrite (the same state).
_SET_IF_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
  local rank = tonumber(string.match(current, '^(-?%d+):'))
  if rank and rank > tonumber(ARGV[1]) then return 0 end
end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1
"""


def _rank(value: bytes | None) -> int | None:
    if value is None:
        return None
    head = value.split(b":", 1)[0]
    try:
        return int(head)
    except ValueError:
        return None


class MemoryCache:
    """Thread-safe in-process cache with per-key expiry (embedded default only)."""

    backend = "memory"
    # Set by common.accounts.tokens when a revocation could not be written (see tokens._blocklist).
    auth_epoch_pending = False

    def __init__(self) -> None:
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= time.monotonic():
            del self._data[key]
            return None
        return value

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._live(key)

    def get_many(self, keys: Iterable[str]) -> list[bytes | None]:
        with self._lock:
            return [self._live(k) for k in keys]

    def set(self, key: str, value: bytes | str, ttl: int | None = None) -> None:
        if isinstance(value, str):
            value = value.encode()
        with self._lock:
            self._data[key] = (value, time.monotonic() + ttl if ttl else None)

    def add(self, key: str, value: bytes | str, ttl: int | None = None) -> bool:
        """Set key only if absent; True when this call set it (an atomic claim)."""
        with self._lock:
            if self._live(key) is not None:
                return False
        self.set(key, value, ttl)
        return True

    def set_if_newer(self, key: str, rank: int, value: str, ttl: int | None) -> bool:
        """Store `value` ("<rank>:...") unless the stored value has a higher rank; True if stored."""
        with self._lock:
            current = _rank(self._live(key))
            if current is not None and current > rank:
                return False
            self._data[key] = (value.encode(), time.monotonic() + ttl if ttl else None)
            return True

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def take(self, key: str) -> bytes | None:
        """Get and delete in one step: of concurrent callers, one gets the value (one-time codes)."""
        with self._lock:
            value = self._live(key)
            self._data.pop(key, None)
            return value

    def read_versioned(self, version_key: str, prefix: str, suffix: str) -> tuple[str, bytes | None]:
        """(the entry's key under the family's current version, its value or None)."""
        with self._lock:
            key = versioned_key(prefix, self._live(version_key), suffix)
            return key, self._live(key)

    def incr(self, key: str) -> int:
        with self._lock:
            current = int(self._live(key) or 0) + 1
            expires = self._data.get(key, (b"", None))[1]
            self._data[key] = (str(current).encode(), expires)
            return current

    def ping(self) -> bool:
        return True

    def flush(self) -> None:
        with self._lock:
            self._data.clear()


_REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def fast_retry() -> Retry:
    """Retry a refused/reset connection once at once (a pooled connection that died with a Redis
    restart), never a timeout: redis-py's default retries timeouts three times, seconds per call
    on a hung server. The circuit breaker decides when to try again."""
    return Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,))


class RedisCache:
    """Cache on a Redis server; every call is one round trip, behind a circuit breaker."""

    backend = "redis"
    auth_epoch_pending = False

    def __init__(
        self,
        url: str,
        *,
        socket_timeout: float = 0.5,
        connect_timeout: float = 0.5,
        breaker_seconds: float = 2.0,
    ) -> None:
        self.url = url
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout,
            health_check_interval=30,
            retry=fast_retry(),
        )
        self.breaker = CircuitBreaker(
            failure_threshold=1,
            recovery_timeout=breaker_seconds,
            expected_exception=_REDIS_DOWN,
            name=f"redis:{url}",
        )
        self._probe = threading.Lock()
        self._read_versioned = self.client.register_script(counting_script(_READ_VERSIONED))
        self._set_if_newer = self.client.register_script(_SET_IF_NEWER)

    def _call(self, fn, *args, **kwargs):
        state = self.breaker.state
        if state == STATE_OPEN:
            # Redis failed moments ago: fail in microseconds instead of waiting for a timeout again.
            raise CacheUnavailable("Redis circuit open after a recent failure")
        if state == STATE_HALF_OPEN:
            # One caller probes Redis; the others keep failing fast until it has answered.
            if not self._probe.acquire(blocking=False):
                raise CacheUnavailable("Redis circuit open, a probe is in flight")
            try:
                return self._guarded(fn, *args, **kwargs)
            finally:
                self._probe.release()
        return self._guarded(fn, *args, **kwargs)

    def _guarded(self, fn, *args, **kwargs):
        try:
            return self.breaker.call(fn, *args, **kwargs)
        except _REDIS_DOWN as exc:
            raise CacheUnavailable(str(exc)) from exc

    def get(self, key: str) -> bytes | None:
        return self._call(self.client.get, key)

    def get_many(self, keys: Iterable[str]) -> list[bytes | None]:
        keys = list(keys)
        return self._call(self.client.mget, keys) if keys else []

    def set(self, key: str, value: bytes | str, ttl: int | None = None) -> None:
        self._call(self.client.set, key, value, ex=ttl)

    def add(self, key: str, value: bytes | str, ttl: int | None = None) -> bool:
        """Set key only if absent; True when this call set it (an atomic claim)."""
        return bool(self._call(self.client.set, key, value, ex=ttl, nx=True))

    def set_if_newer(self, key: str, rank: int, value: str, ttl: int | None) -> bool:
        """Store `value` ("<rank>:...") unless the stored value has a higher rank; True if stored."""
        return bool(self._call(self._set_if_newer, keys=[key], args=[rank, value, ttl or 0]))

    def delete(self, *keys: str) -> None:
        if keys:
            self._call(self.client.delete, *keys)

    def take(self, key: str) -> bytes | None:
        """GETDEL: get and delete atomically; of concurrent callers, one gets the value."""
        return self._call(self.client.getdel, key)

    def read_versioned(self, version_key: str, prefix: str, suffix: str) -> tuple[str, bytes | None]:
        """(the entry's key under the family's current version, its value or None), in one round trip."""
        # The request's deferred rate-limit hit (if any) rides along: one round trip for both.
        version, value = self._call(run_counting, self._read_versioned, [version_key], [prefix, suffix])
        return versioned_key(prefix, version, suffix), value

    def incr(self, key: str) -> int:
        return self._call(self.client.incr, key)

    def ping(self) -> bool:
        return bool(self._call(self.client.ping))

    def flush(self) -> None:
        self._call(self.client.flushdb)


@dataclass(frozen=True)
class CachedBody:
    """The policy of one cached JSON body: where it lives (a versioned family's entry), how long it
    lives, and store-on-miss. The cache fails open: with Redis down the body is built every time."""

    version_key: str
    prefix: str
    suffix: str
    ttl: int

    def get_or_build(self, build: Callable[[], Any]) -> bytes:
        """The stored body, or `build()` encoded as compact JSON and stored under the version read
        first (so a write that bumps the version meanwhile is never hidden by this entry)."""
        key, hit = cache.lookup(self.version_key, self.prefix, self.suffix)
        if hit is not None:
            return hit if isinstance(hit, bytes) else hit.encode()
        body = json.dumps(build(), separators=(",", ":")).encode()
        cache.safe_set(key, body, self.ttl)
        return body


class CacheProxy:
    """Module-level handle to the current Flask app's cache backend (set up by `init_cache`)."""

    @property
    def backend(self) -> MemoryCache | RedisCache:
        return current_app.extensions["cache"]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def get_json(self, key: str) -> Any | None:
        raw = self.backend.get(key)
        return None if raw is None else json.loads(raw)

    def set_json(self, key: str, value: Any, ttl: int | None = None) -> None:
        self.backend.set(key, json.dumps(value, separators=(",", ":"), default=str), ttl)

    def cached_json(self, key: str, ttl: int, compute):
        """Return the cached value for key, computing and storing it on a miss.

        Cached reads fail open: with the cache down the value is computed every time.
        """
        try:
            hit = self.get_json(key)
        except CacheUnavailable:
            return compute()
        if hit is not None:
            return hit
        value = compute()
        try:
            self.set_json(key, value, ttl)
        except CacheUnavailable:
            pass
        return value

    def lookup(self, version_key: str, prefix: str, suffix: str) -> tuple[str | None, bytes | None]:
        """Read a versioned entry failing open: (key to store a fresh value under, or None when the
        cache is down; the cached value or None). Take it before reading the database."""
        try:
            return self.backend.read_versioned(version_key, prefix, suffix)
        except CacheUnavailable:
            return None, None

    def safe_set(self, key: str | None, value: bytes | str, ttl: int | None = None) -> None:
        """Store a value unless the cache is down (or `key` is None, as `lookup` returns then)."""
        if key is None:
            return
        try:
            self.backend.set(key, value, ttl)
        except CacheUnavailable:
            pass

    def bump(self, key: str) -> None:
        """Increment a version counter that namespaces a family of cached entries."""
        try:
            self.backend.incr(key)
        except CacheUnavailable:
            pass


cache = CacheProxy()


def init_cache(app) -> None:
    url = app.config.get("REDIS_URL", "")
    if not url:
        app.extensions["cache"] = MemoryCache()
        return
    app.extensions["cache"] = RedisCache(
        url,
        socket_timeout=app.config.get("REDIS_SOCKET_TIMEOUT", 0.5),
        connect_timeout=app.config.get("REDIS_CONNECT_TIMEOUT", 0.5),
        breaker_seconds=app.config.get("REDIS_BREAKER_SECONDS", 2.0),
    )
