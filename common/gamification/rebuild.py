"""Leaderboard rebuilds: recompute the boards from `xp_events` into `leaderboard_entries` and Redis."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
)

from common.accounts.models import User
from common.cache import CacheUnavailable
from common.db import db, utcnow
from common.gamification.leaderboards import (
    DOMAIN_BOARD_SIZE,
    PERIODS,
    _eligible,
    _expire_at,
    _redis,
    _redis_call,
    at_midnight,
    board_key,
    boards_changed,
    member,
    period_end,
    period_start,
    previous_start,
    run_script,
)
from common.gamification.models import LeaderboardEntry, XpEvent

# The first rebuilds within this long after a period ends rebuild it once more (late commits, lost
# increments) before it is kept as it is.
FINALIZE_WINDOW = timedelta(hours=1)
LOCK = "lbr:lock"
SCRATCH_TTL = 3600  # seconds the temporary and copy keys of a rebuild may outlive it


def _rebuild_targets(now: datetime) -> list[tuple[str, date]]:
    targets = []
    for period in PERIODS:
        start = period_start(period, now.date())
        targets.append((period, start))
        if now < at_midnight(start) + FINALIZE_WINDOW:
            targets.append((period, previous_start(period, start)))
    return targets


def _aggregate_table() -> Table:
    return Table(
        "lb_rebuild",
        MetaData(),
        Column("target", Integer),
        Column("domain", String(64)),
        Column("user_id", Integer),
        Column("points", Integer),
        prefixes=["TEMPORARY"],
    )


def rebuild_leaderboards(today: date | None = None, *, now: datetime | None = None) -> dict:
    """Recompute the current weekly and monthly boards (and, just after a period ends, that period
    once more) from `xp_events`, overall and per domain, into `leaderboard_entries` and Redis. Commits.

    One aggregate statement (one snapshot) fills a temporary table; the entries are replaced in one
    transaction (readers see the old boards until it commits) and each Redis board is built under a
    temporary key and swapped in with RENAME. Changes that commit while the rebuild runs are carried
    over: a copy of each live board taken just before the snapshot is subtracted from it at the swap.
    Suspended users and admins are left out. Returns the row counts per period.
    """
    now = now or (at_midnight(today) + timedelta(hours=12) if today else utcnow())
    client = _redis()
    if client is not None:
        try:
            # One rebuild at a time: they share the temporary keys.
            if not _redis_call(client.set, LOCK, "1", nx=True, ex=600):
                return {"skipped": "another rebuild is running"}
        except CacheUnavailable:
            client = None
    try:
        return _rebuild(now, client)
    finally:
        if client is not None:
            try:
                _redis_call(client.delete, LOCK)
            except CacheUnavailable:
                pass


def _rebuild(now: datetime, client) -> dict:
    from common.gamification.badges import ensure_badges

    ensure_badges(commit=False)  # a catalogue line added since the last deploy is stored within 10 minutes
    targets = _rebuild_targets(now)
    snapped = _snapshot(client, targets) if client is not None else {}
    agg = _aggregate_table()
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        # The aggregates sort ~10^6 rows; keep them in memory rather than spilling to disk.
        db.session.execute(text("SET LOCAL work_mem = '64MB'"))
    agg.drop(conn, checkfirst=True)
    agg.create(conn)
    domain_col = func.coalesce(XpEvent.domain, "")
    parts = []
    for index, (period, start) in enumerate(targets):
        parts.append(
            select(
                literal(index).label("target"),
                domain_col.label("domain"),
                XpEvent.user_id,
                func.sum(XpEvent.points).label("points"),
            )
            .join(User, User.id == XpEvent.user_id)
            .where(
                XpEvent.timestamp >= at_midnight(start),
                XpEvent.timestamp < at_midnight(period_end(period, start)),
                _eligible(),
            )
            .group_by(domain_col, XpEvent.user_id)
        )
    db.session.execute(insert(agg).from_select(["target", "domain", "user_id", "points"], union_all(*parts)))
    stats: dict = defaultdict(int)
    for index, (period, start) in enumerate(targets):
        db.session.execute(
            delete(LeaderboardEntry).where(
                LeaderboardEntry.period == period, LeaderboardEntry.period_start == start
            )
        )
        db.session.execute(
            insert(LeaderboardEntry).from_select(
                ["period", "period_start", "domain", "user_id", "points", "rank"],
                _entries_query(agg, index, period, start),
            )
        )
        stats[period] += db.session.execute(
            select(func.count())
            .select_from(LeaderboardEntry)
            .where(LeaderboardEntry.period == period, LeaderboardEntry.period_start == start)
        ).scalar_one()
    for period in PERIODS:  # keep the current and the just-ended period only
        keep = previous_start(period, period_start(period, now.date()))
        db.session.execute(
            delete(LeaderboardEntry).where(
                LeaderboardEntry.period == period, LeaderboardEntry.period_start < keep
            )
        )
    if client is not None:
        try:
            _fill_temporary(client, agg, targets)
        except CacheUnavailable:
            client = None
    agg.drop(conn)
    db.session.commit()
    if client is not None:
        try:
            _swap(client, targets, snapped)
        except CacheUnavailable:
            current_app.logger.warning("leaderboards: Redis unreachable; boards served from the database")
    return dict(stats)


def _entries_query(agg: Table, index: int, period: str, start: date):
    rows = select(agg.c.domain, agg.c.user_id, agg.c.points).where(agg.c.target == index).subquery()
    total = func.sum(rows.c.points)
    overall = select(
        literal(period),
        literal(start),
        literal(""),
        rows.c.user_id,
        total,
        func.rank().over(order_by=total.desc()),
    ).group_by(rows.c.user_id)
    ranked = (
        select(
            rows.c.domain,
            rows.c.user_id,
            rows.c.points,
            func.rank().over(partition_by=rows.c.domain, order_by=rows.c.points.desc()).label("rank"),
        )
        .where(rows.c.domain != "")
        .subquery()
    )
    by_domain = select(
        literal(period), literal(start), ranked.c.domain, ranked.c.user_id, ranked.c.points, ranked.c.rank
    ).where(ranked.c.rank <= DOMAIN_BOARD_SIZE)
    return union_all(overall, by_domain)


def _keys(client, pattern: str) -> list:
    """Every key matching `pattern`; the whole SCAN runs inside the guarded call (it fails mid-iteration)."""
    return _redis_call(lambda: list(client.scan_iter(match=pattern)))


def _snapshot(client, targets) -> dict[str, str]:
    """Copy each live board of the targets (live key -> copy key), just before the SQL snapshot."""
    copies = {}
    try:
        for period, start in targets:
            for key in _keys(client, f"lb:{period}:{start.isoformat()}:*"):
                key = key.decode()
                copies[key] = "lbs" + key[2:]
                _redis_call(client.zunionstore, copies[key], [key])
                _redis_call(client.expire, copies[key], SCRATCH_TTL)  # gone even if this rebuild dies
    except CacheUnavailable:
        return {}
    return copies


def _fill_temporary(client, agg: Table, targets) -> None:
    """Write every rebuilt board under its temporary key (lbt:...), in batches."""
    for period, start in targets:
        for key in _keys(client, f"lbt:{period}:{start.isoformat()}:*"):
            _redis_call(client.delete, key)
    overall = select(
        agg.c.target, literal("").label("domain"), agg.c.user_id, func.sum(agg.c.points)
    ).group_by(agg.c.target, agg.c.user_id)
    by_domain = select(agg.c.target, agg.c.domain, agg.c.user_id, agg.c.points).where(agg.c.domain != "")
    for stmt in (overall, by_domain):
        batch: dict[str, dict[str, int]] = defaultdict(dict)
        size = 0
        for target, domain, user_id, points in db.session.execute(stmt.execution_options(yield_per=5000)):
            period, start = targets[target]
            batch["lbt" + board_key(period, start, domain)[2:]][member(user_id)] = int(points)
            size += 1
            if size >= 5000:
                _flush(client, batch)
                batch, size = defaultdict(dict), 0
        _flush(client, batch)


def _flush(client, batch) -> None:
    pipe = client.pipeline(transaction=False)
    for key, mapping in batch.items():
        pipe.zadd(key, mapping)
        pipe.expire(key, SCRATCH_TTL)
    _redis_call(pipe.execute)


# Swap one rebuilt board in: add what changed on the live board since the copy, drop members at 0,
# RENAME over the live key (or delete it if nothing is left), bump its version.
_SWAP = """
redis.call('ZUNIONSTORE', KEYS[1], 3, KEYS[1], KEYS[2], KEYS[3], 'WEIGHTS', 1, 1, -1)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', 0)
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('EXPIREAT', KEYS[2], ARGV[1])
else
  redis.call('DEL', KEYS[2])
end
redis.call('DEL', KEYS[3])
local version = 'lbv' .. string.sub(KEYS[2], 3)
redis.call('INCR', version)
redis.call('EXPIREAT', version, ARGV[1])
return 1
"""


def _swap(client, targets, snapped: dict[str, str]) -> None:
    for period, start in targets:
        prefix = f"{period}:{start.isoformat()}:"
        temporary = {k.decode()[4:] for k in _keys(client, f"lbt:{prefix}*")}
        live = {k[3:] for k in snapped if k.startswith(f"lb:{prefix}")}
        expire_at = _expire_at(period, start)
        for rest in temporary | live:
            run_script(client, _SWAP, [f"lbt:{rest}", f"lb:{rest}", f"lbs:{rest}"], [expire_at])
        _redis_call(client.set, f"lbb:{period}:{start.isoformat()}", utcnow().isoformat(), exat=expire_at)
    boards_changed()
