"""Key-value cache: Redis when REDIS_URL is set, an in-process store on the embedded default.

Used for hot reads (catalogue, outlines, leaderboards), the token blocklist and token versions.
Values are bytes/str; `get_json`/`set_json` wrap JSON. Redis errors surface as
`CacheUnavailable` so callers decide whether to fail open (cached reads) or closed (auth).
Versioned families (`read_versioned`, `bump`) keep invalidation correct across processes: an entry's
key embeds its family's version counter, and writers bump the counter after commit.
`set_if_newer` is a compare-and-set on a numeric rank, so a stale writer never overwrites a newer value.
With Redis, each process also keeps the hottest bodies it read for CACHE_HOT_SECONDS (`HotCopies`).

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
        hot_seconds: float = 0.0,
    ) -> None:
        self.url = url
        self.hot = HotCopies(hot_seconds) if hot_seconds > 0 else None
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
        self._read_versioned = self.client.register_script(_READ_VERSIONED)
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
        version, value = self._call(self._read_versioned, keys=[version_key], args=[prefix, suffix])
        return versioned_key(prefix, version, suffix), value

    def incr(self, key: str) -> int:
        return self._call(self.client.incr, key)

    def ping(self) -> bool:
        return bool(self._call(self.client.ping))

    def flush(self) -> None:
        if self.hot is not None:
            self.hot.clear()
        self._call(self.client.flushdb)


class HotCopies:
    """Bodies this process read from (or stored in) Redis moments ago, kept in its memory for
    CACHE_HOT_SECONDS, so the hottest public reads make no round trip at all.

    Entries are grouped by family (a versioned family's version key): `bump` in this process drops
    the family's copies at once, so a process always sees its own writes; other processes' copies
    stay at most `seconds` old. A copy is kept only if its family was not dropped since the read
    that produced it began (`generation`), so a read racing a write cannot keep the older body.
    Plain dict operations (atomic under the GIL), no lock; over `max_entries` every copy is dropped.
    """

    def __init__(self, seconds: float, max_entries: int = 4096) -> None:
        self.seconds, self.max_entries = seconds, max_entries
        self._families: dict[str, dict[str, tuple[float, bytes]]] = {}
        self._generations: dict[str, int] = {}
        self._size = 0
        # Whole responses by request (web/hot.py): (family, generation, expiry, payload).
        self._responses: dict[tuple, tuple[str, int, float, Any]] = {}

    def get(self, family: str, key: str) -> bytes | None:
        found = self._families.get(family, {}).get(key)
        if found is None or found[0] <= time.monotonic():
            return None
        return found[1]

    def generation(self, family: str) -> int:
        return self._generations.get(family, 0)

    def keep(self, family: str, key: str, body: bytes, generation: int) -> None:
        if self._generations.get(family, 0) != generation:
            return  # the family changed while this body was read or built
        if self._size >= self.max_entries:
            self._families.clear()
            self._size = 0
        self._families.setdefault(family, {})[key] = (time.monotonic() + self.seconds, body)
        self._size += 1

    def response(self, request_key: tuple) -> Any | None:
        """A response kept for this request key, if its family is unchanged and it is fresh."""
        found = self._responses.get(request_key)
        if found is None:
            return None
        family, generation, expires, payload = found
        if expires <= time.monotonic() or self._generations.get(family, 0) != generation:
            return None
        return payload

    def keep_response(self, request_key: tuple, family: str, generation: int, payload: Any) -> None:
        if self._generations.get(family, 0) != generation:
            return
        if len(self._responses) >= self.max_entries:
            self._responses.clear()
        self._responses[request_key] = (family, generation, time.monotonic() + self.seconds, payload)

    def drop(self, family: str) -> None:
        self._generations[family] = self._generations.get(family, 0) + 1
        self._size -= len(self._families.pop(family, {}))

    def clear(self) -> None:
        self._families.clear()
        self._generations.clear()
        self._responses.clear()
        self._size = 0


def note_hot_read(family: str, generation: int) -> None:
    """Tell web/hot.py which family this request's answer came from (and its generation before the
    read): the whole response may then be kept. A request that read two families is not kept."""
    if has_request_context():
        g.hot_read = None if "hot_read" in g else (family, generation)


@dataclass(frozen=True)
class CachedBody:
    """The policy of one cached JSON body: where it lives (a versioned family's entry), how long it
    lives, and store-on-miss. The cache fails open: with Redis down the body is built every time."""

    version_key: str
    prefix: str
    suffix: str
    ttl: int

    def get_or_build(self, build: Callable[[], Any]) -> bytes:
        """The process's hot copy; else the stored body; else `build()` encoded as compact JSON and
        stored under the version read first (so a write that bumps the version meanwhile is never
        hidden by this entry)."""
        hot, name = cache.hot, self.prefix + self.suffix
        if hot is not None:
            generation = hot.generation(self.version_key)
            note_hot_read(self.version_key, generation)
            body = hot.get(self.version_key, name)
            if body is not None:
                return body
        key, hit = cache.lookup(self.version_key, self.prefix, self.suffix)
        if hit is not None:
            body = hit if isinstance(hit, bytes) else hit.encode()
        else:
            body = json.dumps(build(), separators=(",", ":")).encode()
            cache.safe_set(key, body, self.ttl)
        if hot is not None and key is not None:
            hot.keep(self.version_key, name, body, generation)
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

    @property
    def hot(self) -> HotCopies | None:
        """This process's hot copies (None: off, or the cache is in-process already)."""
        return getattr(self.backend, "hot", None)

    def bump(self, key: str) -> None:
        """Increment a version counter that namespaces a family of cached entries (and drop this
        process's hot copies of the family)."""
        hot = self.hot
        if hot is not None:
            hot.drop(key)
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
        hot_seconds=app.config.get("CACHE_HOT_SECONDS", 0.0),
    )
