"""Weekly and monthly leaderboards: Redis sorted sets in real time, PostgreSQL as the truth and the fallback.

Keys (one Redis node, as common/cache.py assumes):
  lb:<period>:<start>:<domain>   the board, a sorted set of zero-padded user ids (domain '' = overall)
  lbv:<period>:<start>:<domain>  its version, bumped by every change (namespaces the cached bodies)
  lbc:<period>:<start>:<domain>:<version>:<limit>   a cached top-N body
  lbb:<period>:<start>           set by a rebuild: the boards of that period are complete
Members are user ids padded to 10 digits, so Redis's order among equal scores (member descending)
is `user_id DESC`, the order SQL uses too: both paths cut ties at the same users.
A board lives until the end of the period after its own, so the period that just ended stays readable.
"""

from __future__ import annotations

import calendar
import json
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.accounts.models import User
from common.cache import CacheUnavailable, cache, note_hot_read
from common.db import db, utcnow
from common.gamification.models import LeaderboardEntry, XpEvent

PERIODS = ("weekly", "monthly")
# Per-domain boards keep their top entries only in PostgreSQL; the overall board ranks every learner,
# so any caller can see their own overall rank from the database too. Redis keeps every learner.
DOMAIN_BOARD_SIZE = 1000
# Seconds a cached top-N body may live: every XP change and rebuild bumps the board's version (a new
# body), so this only bounds how long a renamed or suspended user's old entry can show.
BODY_TTL = 5
PENDING = "gamification.board_deltas"
# The family of this process's hot copies of anonymous board bodies (common.cache.HotCopies).
HOT_FAMILY = "leaderboards"


# ---- periods ---------------------------------------------------------------------------------


def period_start(period: str, today: date | None = None) -> date:
    """The first day of the ISO week (Monday) or calendar month that contains `today` (UTC)."""
    today = today or utcnow().date()
    if period == "weekly":
        return today - timedelta(days=today.weekday())
    return today.replace(day=1)


def period_end(period: str, start: date) -> date:
    """The first day after the period that starts on `start` (exclusive end)."""
    if period == "weekly":
        return start + timedelta(days=7)
    return start + timedelta(days=calendar.monthrange(start.year, start.month)[1])


def previous_start(period: str, start: date) -> date:
    return period_start(period, start - timedelta(days=1))


def at_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _expire_at(period: str, start: date) -> int:
    """Unix time a board's keys expire: the end of the period after it."""
    return int(at_midnight(period_end(period, period_end(period, start))).timestamp())


def board_key(period: str, start: date, domain: str = "") -> str:
    return f"lb:{period}:{start.isoformat()}:{domain}"


def member(user_id: int) -> str:
    return f"{user_id:010d}"


def _redis():
    """The Redis client, or None on the embedded default (in-process cache: the database serves)."""
    backend = current_app.extensions["cache"]
    return backend.client if backend.backend == "redis" else None


def run_script(client, source: str, keys: list, args: list):
    """EVALSHA a Lua script (loaded once per client; redis-py reloads it after a Redis restart)."""
    scripts = client.__dict__.setdefault("_leaderboard_scripts", {})
    if source not in scripts:
        scripts[source] = client.register_script(source)
    return _redis_call(scripts[source], keys=keys, args=args)


def _redis_call(fn, *args, **kwargs):
    import redis

    try:
        return fn(*args, **kwargs)
    except redis.exceptions.RedisError as exc:  # unreachable, or refusing (OOM, read-only replica...)
        raise CacheUnavailable(str(exc)) from exc


# ---- real-time increments, applied after commit ----------------------------------------------


def queue_delta(session: Session, *, user_id: int, points: int, at: datetime, domain: str | None) -> None:
    """Remember a board change of the caller's unit of work; applied to Redis once it commits."""
    pending = session.info.setdefault(PENDING, defaultdict(int))
    for period in PERIODS:
        start = period_start(period, at.date())
        pending[(board_key(period, start), user_id, _expire_at(period, start))] += points
        if domain:
            pending[(board_key(period, start, domain), user_id, _expire_at(period, start))] += points


# ZINCRBY each (board, member) by its delta; a member at 0 leaves the board; bump each board's version.
_APPLY = """
for i, key in ipairs(KEYS) do
  local member, delta, at = ARGV[3 * i - 2], ARGV[3 * i - 1], ARGV[3 * i]
  if tonumber(redis.call('ZINCRBY', key, delta, member)) <= 0 then redis.call('ZREM', key, member) end
  redis.call('EXPIREAT', key, at)
  local version = 'lbv' .. string.sub(key, 3)
  redis.call('INCR', version)
  redis.call('EXPIREAT', version, at)
end
return #KEYS
"""


def _apply_pending(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    try:
        client = _redis()
    except RuntimeError:  # committed outside an app context: nothing to update
        return
    if client is None:
        return
    keys, args = [], []
    for (key, user_id, expire_at), delta in pending.items():
        if delta:
            keys.append(key)
            args += [member(user_id), delta, expire_at]
    if not keys:
        return
    try:
        run_script(client, _APPLY, keys, args)
        boards_changed()
    except Exception:  # noqa: BLE001 - the data is committed: never fail the caller's commit over Redis
        current_app.logger.warning(
            "leaderboards: %d board changes wait for the rebuild", len(keys), exc_info=True
        )


def boards_changed() -> None:
    """This process changed boards in Redis: its hot copies of board bodies are stale (other
    processes' copies live CACHE_HOT_SECONDS at most)."""
    hot = cache.hot
    if hot is not None:
        hot.drop(HOT_FAMILY)


def _drop_pending(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended without a commit applying them
        session.info.pop(PENDING, None)


def install_session_hooks() -> None:
    from sqlalchemy import event

    if not event.contains(Session, "after_commit", _apply_pending):
        event.listen(Session, "after_commit", _apply_pending)
        event.listen(Session, "after_transaction_end", _drop_pending)


def remove_user_from_boards(user_id: int) -> int:
    """Take a user off every board in Redis (after a suspension or a promotion to admin commits).

    Returns the number of boards the user was removed from; Redis unreachable counts as 0 (the
    reads filter such users out anyway, and the next rebuild leaves them out).
    """
    client = _redis()
    if client is None:
        return 0
    removed = 0
    try:
        for key in _redis_call(lambda: list(client.scan_iter(match="lb:*", count=500))):
            if _redis_call(client.zrem, key, member(user_id)):
                _redis_call(client.incr, "lbv" + key.decode()[2:])
                removed += 1
    except CacheUnavailable:
        return 0
    boards_changed()
    return removed


# ---- reads -------------------------------------------------------------------------------------

_READ = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local version = redis.call('GET', KEYS[2]) or '0'
local body = redis.call('GET', ARGV[1] .. version .. ARGV[2])
local score, higher = false, false
if ARGV[3] ~= '' then
  score = redis.call('ZSCORE', KEYS[3], ARGV[3])
  if score then higher = redis.call('ZCOUNT', KEYS[3], '(' .. score, '+inf') end
end
return {1, version, body, score, higher}
"""


def _eligible():
    """Who may be ranked: active accounts that are not admins."""
    return (User.status == "active") & (User.role != "admin")


def _ranked(rows) -> list[dict]:
    """Standard competition ranking of (user_id, name, points) rows sorted by points descending."""
    items, rank, previous = [], 0, None
    for index, (user_id, name, points) in enumerate(rows, start=1):
        if points != previous:
            rank, previous = index, points
        items.append({"rank": rank, "user": {"id": user_id, "name": name}, "points": points})
    return items


def _names(user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = db.session.execute(select(User.id, User.name).where(User.id.in_(user_ids), _eligible())).all()
    return dict(rows)


def _items_from_redis(client, key: str, limit: int) -> list[dict]:
    """The top `limit` eligible members of a board, with names from PostgreSQL (ineligible ones skipped)."""
    fetch, rows = limit + 10, []
    while True:
        raw = _redis_call(client.zrevrange, key, 0, fetch - 1, withscores=True)
        names = _names([int(m) for m, _ in raw])
        rows = [(int(m), names[int(m)], int(s)) for m, s in raw if int(m) in names]
        if len(rows) >= limit or len(raw) < fetch:
            return _ranked(rows[:limit])
        fetch *= 2


def board_bounds(period: str, now: datetime | None = None, previous: bool = False) -> tuple[date, date]:
    start = period_start(period, (now or utcnow()).date())
    if previous:
        start = previous_start(period, start)
    return start, period_end(period, start)


def read_board(
    *,
    period: str,
    domain: str = "",
    limit: int = 10,
    user_id: int | None = None,
    previous: bool = False,
    now: datetime | None = None,
) -> tuple[str, dict | None]:
    """A board's top `limit` and the caller's standing, from Redis when its boards are built.

    Returns (JSON body of {period, period_start, period_end, domain, source, items} without `me`,
    me or None): the body is a string so a cache hit is served without re-encoding. The database
    answers when Redis holds no rebuilt board for the period (an aggregate of the period's events,
    and a rebuild is requested), when Redis is not configured (the same aggregate), or when Redis
    is unreachable (`leaderboard_entries`, as of the last rebuild).
    """
    start, end = board_bounds(period, now, previous)
    head = {
        "period": period,
        "period_start": at_midnight(start),
        "period_end": at_midnight(end),
        "domain": domain,
    }
    client = _redis()
    if client is not None:
        key = board_key(period, start, domain)
        rest = key[3:]
        # An anonymous top N is the same for everyone: this process may have it in memory.
        hot, hot_name = (cache.hot if user_id is None else None), f"{rest}:{limit}"
        if hot is not None:
            generation = hot.generation(HOT_FAMILY)
            note_hot_read(HOT_FAMILY, generation)
            body = hot.get(HOT_FAMILY, hot_name)
            if body is not None:
                return body, None
        try:
            built, *found = run_script(
                client,
                _READ,
                [f"lbb:{period}:{start.isoformat()}", "lbv:" + rest, *([key] if user_id else [])],
                [f"lbc:{rest}:", f":{limit}", member(user_id) if user_id else ""],
            )
            if built:
                version, body, score, higher = found
                if body is None:
                    body = _encode(
                        {**head, "source": "redis", "items": _items_from_redis(client, key, limit)}
                    )
                    end_read()
                    _redis_call(client.set, f"lbc:{rest}:{version.decode()}:{limit}", body, ex=BODY_TTL)
                me = None
                if user_id:
                    me = (
                        {"rank": int(higher) + 1, "points": int(float(score))}
                        if score is not None
                        else {"rank": None, "points": 0}
                    )
                body = body if isinstance(body, str) else body.decode()
                if hot is not None:
                    hot.keep(HOT_FAMILY, hot_name, body, generation)
                return body, me
            _request_rebuild(client)
            stored = False
        except CacheUnavailable:
            stored = True
    else:
        stored = False
    items, me = (_stored_board if stored else _live_board)(period, start, end, domain, limit, user_id)
    end_read()
    return _encode({**head, "source": "database", "items": items}), me


def _request_rebuild(client) -> None:
    """Redis holds no rebuilt board for this period (a new period, a restarted Redis): ask for a
    rebuild, at most once a minute, so the fast path heals by itself."""
    from common.jobs.service import enqueue

    if _redis_call(client.set, "lbr:requested", "1", nx=True, ex=60):
        try:
            enqueue("leaderboards.rebuild")
        except Exception:  # noqa: BLE001 - the broker being down must not fail a read
            current_app.logger.warning("leaderboards: could not enqueue a rebuild", exc_info=True)


def _encode(body: dict) -> str:
    return json.dumps(body, separators=(",", ":"), default=lambda v: v.isoformat().replace("+00:00", "Z"))


def end_read() -> None:
    """End a read-only transaction with COMMIT (keeps psycopg's prepared statements, see db.end_read)."""
    db.session.commit()


def _stored_board(period, start, end, domain, limit, user_id):
    """From `leaderboard_entries`, as of the last rebuild."""
    board = (
        LeaderboardEntry.period == period,
        LeaderboardEntry.period_start == start,
        LeaderboardEntry.domain == domain,
    )
    rows = db.session.execute(
        select(LeaderboardEntry.rank, LeaderboardEntry.user_id, User.name, LeaderboardEntry.points)
        .join(User, User.id == LeaderboardEntry.user_id)
        .where(*board, _eligible())
        .order_by(LeaderboardEntry.rank, LeaderboardEntry.user_id.desc())
        .limit(limit)
    ).all()
    items = [{"rank": r.rank, "user": {"id": r.user_id, "name": r.name}, "points": r.points} for r in rows]
    me = None
    if user_id:
        mine = db.session.execute(
            select(LeaderboardEntry.rank, LeaderboardEntry.points).where(
                *board, LeaderboardEntry.user_id == user_id
            )
        ).first()
        me = (
            {"rank": mine.rank, "points": mine.points}
            if mine
            else {"rank": None, "points": _points(user_id, start, end, domain)}
        )
    return items, me


def _points(user_id: int, start: date, end: date, domain: str) -> int:
    stmt = select(func.coalesce(func.sum(XpEvent.points), 0)).where(
        XpEvent.user_id == user_id,
        XpEvent.timestamp >= at_midnight(start),
        XpEvent.timestamp < at_midnight(end),
    )
    if domain:
        stmt = stmt.where(XpEvent.domain == domain)
    return db.session.execute(stmt).scalar_one()


def _live_board(period, start, end, domain, limit, user_id):
    """An aggregate over the period's XP events (the embedded default, where no Redis holds boards)."""
    where = [XpEvent.timestamp >= at_midnight(start), XpEvent.timestamp < at_midnight(end)]
    if domain:
        where.append(XpEvent.domain == domain)
    points = func.sum(XpEvent.points).label("points")
    totals = (
        select(XpEvent.user_id, points)
        .join(User, User.id == XpEvent.user_id)
        .where(*where, _eligible())
        .group_by(XpEvent.user_id)
        .subquery()
    )
    rows = db.session.execute(
        select(totals.c.user_id, User.name, totals.c.points)
        .join(User, User.id == totals.c.user_id)
        .order_by(totals.c.points.desc(), totals.c.user_id.desc())
        .limit(limit)
    ).all()
    me = None
    if user_id:
        mine = db.session.execute(select(totals.c.points).where(totals.c.user_id == user_id)).scalar()
        higher = (
            db.session.execute(
                select(func.count()).select_from(totals).where(totals.c.points > mine)
            ).scalar_one()
            if mine
            else 0
        )
        me = {"rank": higher + 1, "points": mine} if mine else {"rank": None, "points": 0}
    return _ranked([tuple(r) for r in rows]), me
