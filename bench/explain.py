"""EXPLAIN (ANALYZE, BUFFERS) of every statement the hot routes send: bench/results/EXPLAIN-<profile>.md.

    python -m bench.explain [--profile 100k|small]

Runs the product in-process (Flask's test client) against the bench database (BENCH_DATABASE, default
coursehub_bench_<profile>, built by bench/run.py or bench/data.py; migrated to head here) and its own
redis-server. Each route is called a few times first (warm buffers, like a steady state), then once
more while every statement it sends is explained just before it runs, on the same connection and in
the same transaction, so each plan sees exactly what the real statement sees. A write is explained
inside a savepoint that is rolled back, so only the real statement changes anything. The report
flags any sequential scan on a table of more than LARGE_TABLE_ROWS rows.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG = "postgresql://postgres@127.0.0.1:5432"
LARGE_TABLE_ROWS = 10_000
WARMUP = 3
# Forum posts the bench data lacks: one per fourth enrollment, written by that enrollment's student.
FORUM_POSTS = """
    INSERT INTO posts (course_id, user_id, title, body, votes, reply_count, hidden, created_at, updated_at)
    SELECT e.course_id, e.user_id, 'Question ' || e.id || ' about joins', 'How do I join these tables?',
           e.id % 7, 0, false, e.enrolled_at, e.enrolled_at
    FROM enrollments e WHERE e.id % 4 = 0"""


def bench_env(dsn: str, redis_url: str) -> dict:
    return {
        "APP_ENV": "bench",
        "DATABASE_URL": dsn,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
        "JWT_SECRET_KEY": "bench-jwt-secret-0123456789abcdef0123456789",
        "JWT_ACCESS_TOKEN_SECONDS": "7200",
        "RATELIMIT_ENABLED": "false",
        # A loaded machine must not trip the cache's circuit breaker (boards would come from SQL).
        "REDIS_SOCKET_TIMEOUT": "5",
        "INSTANCE_DIR": str(ROOT / "instance" / "bench"),
    }


def prepare_database(dsn: str, env: dict) -> None:
    """Migrate to head (a bench database built before the newest migration gets its indexes) and add posts."""
    subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=ROOT,
        env={**os.environ, **env, "FLASK_APP": "web.app:create_app"},
        check=True,
        capture_output=True,
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        if conn.execute("SELECT count(*) FROM posts").fetchone()[0] < 1000:
            conn.execute(FORUM_POSTS)
            conn.execute("ANALYZE posts")
        # A database built in one go was never vacuumed: without a visibility map no index-only scan
        # is possible, unlike a live database that autovacuum keeps (since PostgreSQL 13, inserts too).
        if conn.execute("SELECT relallvisible FROM pg_class WHERE relname = 'users'").fetchone()[0] == 0:
            conn.execute("VACUUM ANALYZE")


def sample(dsn: str) -> dict:
    """A student in a free approved course with posts, WARMUP + 1 lessons of it still to complete and
    its first quiz not yet passed (so runs can repeat on one database), and the admin."""
    with psycopg.connect(dsn) as conn:
        candidates = conn.execute(
            "SELECT e.user_id, e.course_id, c.domain FROM enrollments e JOIN courses c ON c.id = e.course_id"
            " WHERE c.status = 'approved' AND e.status = 'active' AND c.price = 0"
            " AND EXISTS (SELECT 1 FROM posts p WHERE p.course_id = c.id) ORDER BY random() LIMIT 100"
        ).fetchall()
        for student, course, domain in candidates:  # noqa: B007  (the one chosen is used below)
            lessons = [
                r[0]
                for r in conn.execute(
                    "SELECT l.id FROM lessons l WHERE l.course_id = %s AND NOT EXISTS (SELECT 1 FROM"
                    " lesson_progress p WHERE p.lesson_id = l.id AND p.user_id = %s) ORDER BY l.id",
                    (course, student),
                )
            ]
            quizzes = [
                r[0]
                for r in conn.execute(
                    "SELECT q.id FROM quizzes q WHERE q.course_id = %s AND NOT EXISTS (SELECT 1 FROM"
                    " quiz_results r WHERE r.quiz_id = q.id AND r.user_id = %s) ORDER BY q.id",
                    (course, student),
                )
            ]
            if len(lessons) > WARMUP and quizzes:
                break
        else:
            sys.exit("no student left with lessons to complete: rebuild the bench database")
        admin = conn.execute("SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1").fetchone()[0]
    return {
        "student": student,
        "course": course,
        "lessons": lessons,
        "quizzes": quizzes,
        "domain": domain,
        "admin": admin,
    }


def routes(s: dict) -> list[tuple[str, str, str, str, list[dict | None]]]:
    """(name, method, url, caller, bodies): one body per call, the last call is the one explained."""
    lessons, quizzes, course = iter(s["lessons"]), s["quizzes"], s["course"]
    get = [None] * (WARMUP + 1)
    return [
        ("catalogue by domain (cache miss)", "GET", f"/api/courses?domain={s['domain']}", "", get),
        ("course outline (cache miss)", "GET", f"/api/courses/{course}", "", get),
        ("catalogue search (token)", "GET", "/api/courses?q=python&sort=popular", "student", get),
        ("/me/enrollments", "GET", "/api/me/enrollments", "student", get),
        ("course progress", "GET", f"/api/me/courses/{course}/progress", "student", get),
        # A different lesson each call: every one is a first completion.
        (
            "lesson completion",
            "POST",
            "/api/lessons/{lesson}/complete",
            "student",
            [next(lessons) for _ in get],
        ),
        # Wrong answers to one quiz, then the first right one (XP, badge check, completion check).
        (
            "quiz attempt (right answer)",
            "POST",
            f"/api/quizzes/{quizzes[0]}/attempts",
            "student",
            [{"selected_option": 0}] * WARMUP + [{"selected_option": 1}],
        ),
        (
            "leaderboard top 10 (body not cached)",
            "GET",
            "/api/leaderboard?period=weekly&limit=10",
            "student",
            get,
        ),
        ("forum thread list", "GET", f"/api/courses/{course}/posts?sort=top", "student", get),
        ("GET /api/admin/stats (uncached)", "GET", "/api/admin/stats", "admin", get),
    ]


@contextmanager
def explaining(engine, plans: list[dict]):
    """Explain each statement on its own connection just before it runs (see the module docstring)."""
    from sqlalchemy import event

    def explain(conn, cursor, statement, parameters, context, executemany):
        raw = cursor.connection
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb not in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
            return  # SET LOCAL and the like: nothing to explain
        write = verb != "SELECT" or " FOR " in statement
        # Idle but not in autocommit: psycopg opens the transaction at the next statement (the
        # savepoint below), so the statement still runs in the transaction it would have begun.
        in_transaction = (
            raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE or not raw.autocommit
        )
        if write and not in_transaction:
            plans.append({"statement": statement, "plan": "(not explained: a write outside a transaction)"})
            return
        with raw.cursor() as cur:
            if write:
                cur.execute("SAVEPOINT bench_explain")
            started = time.perf_counter()
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            wall_ms = (time.perf_counter() - started) * 1000
            plan = "\n".join(row[0] for row in cur.fetchall())
            if write:
                cur.execute("ROLLBACK TO SAVEPOINT bench_explain")
        entry = {"statement": statement, "plan": plan, "explain_wall_ms": wall_ms}
        plans.append(entry)
        context.bench_entry, context.bench_started = entry, time.perf_counter()

    def timed(conn, cursor, statement, parameters, context, executemany):
        """The real statement's own time, round trip included (EXPLAIN ANALYZE's timing adds overhead)."""
        entry = getattr(context, "bench_entry", None)
        if entry is not None:
            entry["real_ms"] = (time.perf_counter() - context.bench_started) * 1000

    event.listen(engine, "before_cursor_execute", explain)
    event.listen(engine, "after_cursor_execute", timed)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", explain)
        event.remove(engine, "after_cursor_execute", timed)


def run(dsn: str, redis_url: str, s: dict) -> list[dict]:
    os.environ.update(bench_env(dsn, redis_url))
    sys.path.insert(0, str(ROOT))
    from common.accounts.models import User
    from common.accounts.tokens import issue_tokens
    from common.db import db
    from common.gamification.service import rebuild_leaderboards
    from web.app import create_app

    app = create_app()
    redis_client = redis.Redis.from_url(redis_url)
    results = []
    with app.app_context():
        rebuild_leaderboards()
        headers = {
            who: {"Authorization": "Bearer " + issue_tokens(db.session.get(User, s[who]))["access_token"]}
            for who in ("student", "admin")
        }
        db.session.commit()
        client = app.test_client()
        for name, method, url, caller, bodies in routes(s):
            plans: list[dict] = []
            for n, body in enumerate(bodies):
                drop_cached_bodies(redis_client)  # every call misses: the database work is measured
                target = url.format(lesson=body) if "{lesson}" in url else url
                kwargs = {"json": body} if isinstance(body, dict) else {}
                last = n == len(bodies) - 1
                with explaining(db.engine, plans) if last else _nothing():
                    response = client.open(target, method=method, headers=headers.get(caller, {}), **kwargs)
                assert response.status_code < 300, (name, response.status_code, response.get_json())
            results.append({"route": name, "method": method, "url": target, "plans": plans})
    return results


@contextmanager
def _nothing():
    yield


# Redis keys that stay: token state and the rebuilt boards (the steady state of a running product).
KEPT_KEYS = (b"auth:", b"lb:", b"lbb:", b"lbv:")


def drop_cached_bodies(client) -> None:
    """Delete every cached response body (catalogue, outline, stats, board bodies), keep the rest."""
    doomed = [key for key in client.scan_iter(count=1000) if not key.startswith(KEPT_KEYS)]
    if doomed:
        client.delete(*doomed)


def table_rows(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return dict(
            conn.execute(
                "SELECT relname, reltuples::bigint FROM pg_class WHERE relkind = 'r'"
                " AND relnamespace = 'public'::regnamespace"
            ).fetchall()
        )


# Statements that aggregate a whole table: every row is read whatever the plan, and a sequential scan is
# the cheapest way (an index-only scan over (status, completed_at) was tried: 20 ms against 23 ms on 2
# cores, not worth an index on every enrollment write).
WHOLE_TABLE_AGGREGATES = ("SELECT count(*) FILTER (WHERE enrollments.status",)


def seq_scans(statement: str, plan: str, rows: dict[str, int]) -> list[str]:
    if statement.startswith(WHOLE_TABLE_AGGREGATES):
        return []
    return sorted({t for t in re.findall(r"Seq Scan on (\w+)", plan) if rows.get(t, 0) > LARGE_TABLE_ROWS})


def ms(plan: str, what: str) -> float:
    found = re.search(rf"{what} Time: ([\d.]+) ms", plan)
    return float(found.group(1)) if found else 0.0


def short(statement: str, width: int = 110) -> str:
    text = " ".join(statement.split())
    return (text[: width - 1] + "…") if len(text) > width else text


def write_report(profile: str, results: list[dict], rows: dict[str, int], out: Path) -> list[str]:
    flagged = []
    lines = [
        f"# EXPLAIN (ANALYZE, BUFFERS) of the hot routes ({profile} profile)",
        "",
        "Written by `python -m bench.explain` (`make bench`). Every statement each hot route sends,",
        "explained just before it ran, on the same connection and in the same transaction (writes inside",
        "a rolled-back savepoint), after warm-up calls. Cache misses throughout: what the database does",
        f"when Redis cannot answer. A sequential scan on a table over {LARGE_TABLE_ROWS:,} rows is flagged,",
        "except in a statement that aggregates the whole table (the admin stats' enrollment counts).",
        "",
        "Rows per table: "
        + ", ".join(f"{t} {n:,}" for t, n in sorted(rows.items(), key=lambda kv: -kv[1]) if n > 0),
        "",
        "Times: `EXPLAIN` is the plan's Execution Time (per-node timing inflates row-heavy nodes); `real` is",
        "the statement itself as the route sent it, measured around the driver call (round trip included).",
        "",
        "| route | statements | EXPLAIN ms (sum) | real ms (sum) | slowest statement, real ms "
        "| seq scans on large tables |",
        "|---|---|---|---|---|---|",
    ]
    every = []
    for r in results:
        times = [ms(p["plan"], "Execution") for p in r["plans"]]
        real = [p.get("real_ms", 0.0) for p in r["plans"]]
        scans = sorted({t for p in r["plans"] for t in seq_scans(p["statement"], p["plan"], rows)})
        flagged += [f"{r['route']}: {t}" for t in scans]
        lines.append(
            f"| {r['route']} | {len(r['plans'])} | {sum(times):.2f} | {sum(real):.2f} "
            f"| {max(real, default=0):.2f} | {', '.join(scans) or 'none'} |"
        )
        every += [(p.get("real_ms", 0.0), ms(p["plan"], "Execution"), r["route"], p) for p in r["plans"]]
    lines += [
        "",
        "## The ten slowest statements (real time)",
        "",
        "| real ms | EXPLAIN ms | route | statement |",
        "|---|---|---|---|",
    ]
    for real_ms, explain_ms, route, p in sorted(every, key=lambda x: -x[0])[:10]:
        lines.append(f"| {real_ms:.3f} | {explain_ms:.3f} | {route} | `{short(p['statement'], 80)}` |")
    lines += [
        "",
        f"Sequential scans on large tables: {'; '.join(flagged) if flagged else 'none'}.",
        "",
        "## Plans",
    ]
    for r in results:
        lines += ["", f"### {r['route']}: `{r['method']} {r['url']}`", ""]
        for n, p in enumerate(r["plans"], 1):
            head = f"{n}. `{short(p['statement'])}` (real {p.get('real_ms', 0.0):.3f} ms)"
            lines += [head, "", "```", p["plan"], "```", ""]
    out.write_text("\n".join(lines) + "\n")
    return flagged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="100k")
    args = parser.parse_args()
    name = os.environ.get("BENCH_DATABASE") or f"coursehub_bench_{args.profile}"
    dsn = f"{PG}/{name}"
    with psycopg.connect(f"{PG}/postgres") as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            sys.exit(f"no database {name}: build it first (python -m bench.run --profile {args.profile})")
    from tests.redis_server import PrivateRedis

    redis_server = PrivateRedis().start()
    try:
        prepare_database(dsn, bench_env(dsn, redis_server.url))
        s = sample(dsn)
        results = run(dsn, redis_server.url, s)
    finally:
        redis_server.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"EXPLAIN-{args.profile}.md"
    flagged = write_report(args.profile, results, table_rows(dsn), out)
    print(f"wrote {out.relative_to(ROOT)}; sequential scans on large tables: {flagged or 'none'}")


if __name__ == "__main__":  # pragma: no cover
    main()
