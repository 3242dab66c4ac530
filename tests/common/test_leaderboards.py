"""Leaderboards: rebuild from xp_events, Redis and SQL agreeing, drift healed, periods kept and bounded."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select, update

from common.accounts.models import User
from common.cache import RedisCache, cache
from common.db import db
from common.gamification import leaderboards, service
from common.gamification.models import LeaderboardEntry, XpEvent
from tests.factories import make_user


def read(**kwargs):
    body, me = service.read_board(**kwargs)
    return {**json.loads(body), "me": me}


def ranking(board) -> list[tuple[int, int, int]]:
    return [(i["rank"], i["user"]["id"], i["points"]) for i in board["items"]]


class RedisDown:
    """Point the app's cache at a port nothing listens on (a real client meeting a dead server)."""

    def __init__(self, app):
        self.app = app

    def __enter__(self):
        self.saved = self.app.extensions["cache"]
        self.app.extensions["cache"] = RedisCache("redis://127.0.0.1:1/0")

    def __exit__(self, *exc):
        self.app.extensions["cache"] = self.saved


_source_ids = itertools.count(1)


def add_event(user, points, domain=None, at=None, type="quiz_pass"):
    db.session.add(
        XpEvent(
            user_id=user.id,
            type=type,
            points=points,
            source_id=next(_source_ids),
            domain=domain,
            timestamp=at or datetime.now(UTC),
        )
    )


def test_rebuild_ranks_current_period_overall_and_per_domain():
    a, b, c = make_user(), make_user(), make_user()
    old = datetime.now(UTC) - timedelta(days=70)
    for user, points, domain in [(a, 20, "design"), (a, 10, "design"), (b, 20, "cloud"), (c, 5, "cloud")]:
        add_event(user, points, domain)
    add_event(c, 20, "cloud", at=old)
    db.session.commit()
    stats = service.rebuild_leaderboards()
    assert stats["weekly"] == 3 + 3 and stats["monthly"] == 6
    board = db.session.execute(
        select(LeaderboardEntry.user_id, LeaderboardEntry.points, LeaderboardEntry.rank)
        .where(LeaderboardEntry.period == "monthly", LeaderboardEntry.domain == "")
        .order_by(LeaderboardEntry.rank)
    ).all()
    assert board == [(a.id, 30, 1), (b.id, 20, 2), (c.id, 5, 3)]
    assert ranking(read(period="weekly", domain="cloud")) == [(1, b.id, 20), (2, c.id, 5)]
    service.rebuild_leaderboards(datetime.now(UTC).date())  # replaces, never adds
    assert db.session.execute(select(func.count()).select_from(LeaderboardEntry)).scalar_one() == 12
    assert db.session.get(User, a.id).xp_total == 0  # boards never touch the running totals


def test_suspended_users_and_admins_are_never_ranked(app):
    a, suspended, admin = make_user(), make_user(status="suspended"), make_user("admin")
    for user in (a, suspended, admin):
        service.award_xp(user_id=user.id, type="quiz_pass", source_id=1)
    db.session.commit()
    service.rebuild_leaderboards()
    assert db.session.execute(select(LeaderboardEntry.user_id).distinct()).scalars().all() == [a.id]
    assert ranking(read(period="weekly")) == [(1, a.id, 20)]
    # Suspended after the rebuild: the reads leave them out on their own, from Redis (any body not
    # cached before; a cached one lives BODY_TTL seconds) and from SQL.
    db.session.execute(update(User).where(User.id == a.id).values(status="suspended"))
    db.session.commit()
    assert read(period="weekly", limit=5)["items"] == []
    with RedisDown(app):
        assert read(period="weekly")["items"] == []
    # remove_user_from_boards (called once a suspension commits) also drops the cached bodies.
    service.remove_user_from_boards(a.id)
    assert read(period="weekly")["items"] == []


def test_ties_share_a_rank_and_me_outside_the_top(app):
    users = [make_user() for _ in range(5)]
    for user, points in zip(users, [30, 20, 20, 10, 5], strict=True):
        add_event(user, points)
    db.session.commit()
    service.rebuild_leaderboards()
    nobody = make_user()
    for source in ("redis", "database"):
        if source == "database":
            down = RedisDown(app)
            down.__enter__()
        try:
            board = read(period="weekly", limit=3, user_id=users[4].id)
            assert board["source"] == source
            assert [(r, p) for r, _, p in ranking(board)] == [(1, 30), (2, 20), (2, 20)]
            assert board["me"] == {"rank": 5, "points": 5}
            assert read(period="weekly", user_id=nobody.id)["me"] == {"rank": None, "points": 0}
            assert read(period="weekly", limit=10)["items"][3] == {
                "rank": 4,
                "user": {"id": users[3].id, "name": users[3].name},
                "points": 10,
            }
        finally:
            if source == "database":
                down.__exit__()


def test_redis_and_sql_agree_after_a_rebuild(app):
    users = [make_user() for _ in range(30)]
    for n, user in enumerate(users):
        for k in range(n % 4 + 1):
            add_event(user, 10 * ((n * 7) % 5 + 1), domain=("design", "cloud")[k % 2])
    db.session.commit()
    service.rebuild_leaderboards()
    for period in ("weekly", "monthly"):
        for domain in ("", "design", "cloud"):
            for limit in (1, 10, 100):
                fast = read(period=period, domain=domain, limit=limit, user_id=users[3].id)
                with RedisDown(app):
                    slow = read(period=period, domain=domain, limit=limit, user_id=users[3].id)
                assert (fast["source"], slow["source"]) == ("redis", "database")
                assert ranking(fast) == ranking(slow) and fast["me"] == slow["me"]
                assert {k: v for k, v in fast.items() if k != "source"} == {
                    k: v for k, v in slow.items() if k != "source"
                }


def test_drift_is_healed_by_a_rebuild(student):
    other = make_user()
    service.award_xp(user_id=student.id, type="quiz_pass", source_id=1, domain="design")
    service.award_xp(user_id=other.id, type="quiz_pass", source_id=1, domain="design")
    db.session.commit()
    service.rebuild_leaderboards()
    client = cache.backend.client
    key = leaderboards.board_key("weekly", leaderboards.period_start("weekly"))
    client.zincrby(key, 500, leaderboards.member(other.id))  # a stray update
    client.zrem(key, leaderboards.member(student.id))  # a lost one
    client.zadd(key, {leaderboards.member(999999): 70})  # a user who does not exist
    assert ranking(read(period="weekly"))[0][1:] == (other.id, 520)
    service.rebuild_leaderboards()
    assert [p for _, _, p in ranking(read(period="weekly"))] == [20, 20]
    assert client.zcard(key) == 2 and int(client.zscore(key, leaderboards.member(student.id))) == 20


def test_redis_restart_falls_back_to_the_truth_and_asks_for_a_rebuild(student):
    service.award_xp(user_id=student.id, type="quiz_pass", source_id=1)
    db.session.commit()
    service.rebuild_leaderboards()
    cache.flush()  # Redis lost its data
    other = make_user()
    service.award_xp(user_id=other.id, type="lesson_complete", source_id=1)
    db.session.commit()  # the board in Redis now holds this one increment only
    board = read(period="weekly")
    assert board["source"] == "database"
    assert [p for _, _, p in ranking(board)] == [20, 10]
    assert cache.backend.client.exists("lbr:requested")
    service.rebuild_leaderboards()
    assert read(period="weekly")["source"] == "redis" and [
        p for _, _, p in ranking(read(period="weekly"))
    ] == [20, 10]


def test_a_new_award_shows_at_once_after_a_rebuild(student):
    service.rebuild_leaderboards()
    assert read(period="weekly", user_id=student.id)["me"] == {"rank": None, "points": 0}
    service.award_xp(user_id=student.id, type="lesson_complete", source_id=1)
    db.session.commit()
    board = read(period="weekly", user_id=student.id)
    assert board["source"] == "redis" and board["me"] == {"rank": 1, "points": 10}
    assert ranking(board) == [(1, student.id, 10)]  # the cached top 10 was invalidated


def test_the_period_that_just_ended_is_rebuilt_once_more_and_kept(student):
    sunday = datetime(2026, 11, 29, 23, 59, 59, tzinfo=UTC)
    monday = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    add_event(student, 20, at=sunday - timedelta(hours=1))
    db.session.commit()
    service.rebuild_leaderboards(now=sunday - timedelta(minutes=30))
    add_event(student, 10, at=sunday)  # committed after the last rebuild of the week
    add_event(student, 5, at=monday)
    db.session.commit()
    service.rebuild_leaderboards(now=monday + timedelta(minutes=10))
    last_week = read(period="weekly", previous=True, user_id=student.id, now=monday)
    assert (
        last_week["period_start"] == "2026-11-23T00:00:00Z"
        and last_week["period_end"] == "2026-11-30T00:00:00Z"
    )
    assert last_week["source"] == "redis" and last_week["me"] == {"rank": 1, "points": 30}
    this_week = read(period="weekly", user_id=student.id, now=monday)
    assert this_week["period_start"] == "2026-11-30T00:00:00Z" and this_week["me"]["points"] == 5
    # Later rebuilds leave the ended week alone, and it stays in the database too.
    db.session.execute(update(XpEvent).where(XpEvent.timestamp == sunday).values(points=11))
    db.session.commit()
    service.rebuild_leaderboards(now=monday + timedelta(hours=3))
    assert read(period="weekly", previous=True, user_id=student.id, now=monday)["me"]["points"] == 30
    assert (
        db.session.execute(
            select(LeaderboardEntry.points).where(
                LeaderboardEntry.period == "weekly",
                LeaderboardEntry.period_start == date(2026, 11, 23),
                LeaderboardEntry.domain == "",
            )
        ).scalar_one()
        == 30
    )
    # Two weeks on, the week before last is dropped.
    service.rebuild_leaderboards(now=monday + timedelta(days=14))
    assert (
        db.session.execute(
            select(func.count())
            .select_from(LeaderboardEntry)
            .where(LeaderboardEntry.period == "weekly", LeaderboardEntry.period_start == date(2026, 11, 23))
        ).scalar_one()
        == 0
    )


def test_month_boundary_with_time_frozen_at_the_edges(app, student):
    eve = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    new_year = datetime(2027, 1, 1, 0, 0, 0, tzinfo=UTC)
    service.award_xp_at(user_id=student.id, type="quiz_pass", source_id=1, now=eve)
    service.award_xp_at(user_id=student.id, type="lesson_complete", source_id=1, now=new_year)
    db.session.commit()
    for mode in ("live", "rebuilt"):
        if mode == "rebuilt":
            service.rebuild_leaderboards(now=new_year + timedelta(minutes=5))
        december = read(period="monthly", user_id=student.id, now=eve)
        january = read(period="monthly", user_id=student.id, now=new_year)
        assert (december["period_start"], december["period_end"]) == (
            "2026-12-01T00:00:00Z",
            "2027-01-01T00:00:00Z",
        )
        assert december["me"]["points"] == 20 and january["me"]["points"] == 10
        assert read(period="monthly", previous=True, user_id=student.id, now=new_year)["me"]["points"] == 20
    assert january["source"] == "redis"
    # The ISO week of 31 Dec 2026 (a Thursday) runs Monday 28 Dec to Monday 4 Jan: both awards.
    week = read(period="weekly", user_id=student.id, now=new_year)
    assert week["period_start"] == "2026-12-28T00:00:00Z" and week["me"]["points"] == 30


def test_embedded_default_serves_the_boards_from_the_database(student):
    from web.app import create_app

    embedded = create_app({"REDIS_URL": ""})
    with embedded.app_context():
        assert embedded.extensions["cache"].backend == "memory"
        service.award_xp(user_id=student.id, type="quiz_pass", source_id=1, domain="design")
        db.session.commit()
        board = read(period="weekly", domain="design", user_id=student.id)
        assert board["source"] == "database" and board["me"] == {"rank": 1, "points": 20}
        assert ranking(board) == [(1, student.id, 20)]
        assert service.remove_user_from_boards(student.id) == 0
        stats = service.rebuild_leaderboards()
        assert stats == {"weekly": 2, "monthly": 2}


def test_changes_committed_during_a_rebuild_survive_its_swap(app):
    """A rebuild blocked after its snapshot (entries locked by another transaction) while an award
    commits: the award is not in the rebuilt data, yet the swapped-in board keeps it."""
    import threading
    import time

    from sqlalchemy import text

    early, late = make_user(), make_user()
    late_id = late.id
    service.award_xp(user_id=early.id, type="quiz_pass", source_id=1)
    db.session.commit()
    service.rebuild_leaderboards()
    blocker = db.engine.connect()
    blocker.execute(text("LOCK TABLE leaderboard_entries IN ACCESS EXCLUSIVE MODE"))
    done = []

    def rebuild():
        with app.app_context():
            done.append(service.rebuild_leaderboards())
            db.session.remove()

    thread = threading.Thread(target=rebuild)
    thread.start()
    try:
        for _ in range(200):  # until the rebuild waits for the lock, i.e. its snapshot is taken
            if db.session.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar_one():
                break
            db.session.commit()
            time.sleep(0.05)
        else:
            raise AssertionError("the rebuild never waited for the lock")
        service.award_xp(user_id=late_id, type="lesson_complete", source_id=1)
        db.session.commit()
    finally:
        blocker.commit()
        blocker.close()
        thread.join(timeout=30)
    assert done and done[0]["weekly"] == 1  # the rebuild's own data missed the late award
    key = leaderboards.board_key("weekly", leaderboards.period_start("weekly"))
    assert int(cache.backend.client.zscore(key, leaderboards.member(late_id))) == 10
    assert [p for _, _, p in ranking(read(period="weekly", limit=20))] == [20, 10]
