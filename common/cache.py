"""Key-value cache: Redis when REDIS_URL is set, an in-process store on the embedded default.

Used for hot reads (catalogue, outlines, leaderboards), the token blocklist and token versions.
Values are bytes/str; `get_json`/`set_json` wrap JSON. Redis errors surface as
`CacheUnavailable` so callers decide whether to fail open (cached reads) or closed (auth).
Versioned families (`read_versioned`, `bump`) keep invalidation correct across processes: an entry's
key embeds its family's version counter, and writers bump the counter after commit.
"""
from __future__ import annotations

import json
import threading
import time
from typing import Any, Iterable

import redis
from flask import current_app


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


class MemoryCache:
    """Thread-safe in-process cache with per-key expiry (embedded default only)."""

    backend = "memory"

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


class RedisCache:
    """Cache on a Redis server; every call is one round trip."""

    backend = "redis"

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
        )
        self._read_versioned = self.client.register_script(_READ_VERSIONED)

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
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
        self._call(self.client.flushdb)


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

    def safe_delete(self, *keys: str) -> None:
        """Invalidate keys, ignoring an unreachable cache (entries expire by TTL anyway)."""
        try:
            self.backend.delete(*keys)
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
    app.extensions["cache"] = RedisCache(url) if url else MemoryCache()
