"""Load benchmarks against PERFORMANCE.md: throughput as a ratio to a same-size ceiling app, p99, memory.

    python -m bench.run [--profile 100k|small] [--rebuild] [--duration 8] [--rounds 1] [--only NAME,...]

Builds (once) a PostgreSQL database with the chosen data profile (BENCH_DATABASE, default
coursehub_bench_<profile>; reused by later runs), starts its own redis-server on a free port (never a
shared Redis: nothing outside the bench is flushed), starts the product and the ceiling app under the
same gunicorn settings (gunicorn.conf.py: worker class, workers, threads), and runs wrk -t2 -c32
against each route and then against the ceiling with a body of the same size, interleaved (product,
ceiling, product, ceiling... for --rounds) so machine noise hits both sides alike. Writes
bench/results/REPORT-<profile>.md and run-<profile>.json. Needs wrk (Debian: wrk) and redis-server.
On a shared machine run it under the same lock as the test suite (flock <lock> make bench).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG = "postgresql://postgres@127.0.0.1:5432"
PRODUCT_PORT, CEILING_PORT = 18000, 18001
# Set by main() once the bench's own redis-server is up.
REDIS_URL = ""


def sh_env(dsn: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "COV_"))}
    env.update(
        DATABASE_URL=dsn,
        REDIS_URL=REDIS_URL,
        CELERY_BROKER_URL=REDIS_URL,
        FLASK_APP="web.app:create_app",
        SECRET_KEY="bench-secret-key-0123456789abcdef0123456789",
        JWT_SECRET_KEY="bench-jwt-secret-0123456789abcdef0123456789",
        JWT_ACCESS_TOKEN_SECONDS="7200",
        RATELIMIT_DEFAULT="100000000 per minute",
        RATELIMIT_AUTH="100000000 per minute",
        RATELIMIT_FORUM_POST="100000000 per minute",
        APP_ENV="bench",
        INSTANCE_DIR=str(ROOT / "instance" / "bench"),
    )
    return env


def ensure_database(profile: str, rebuild: bool) -> str:
    name = os.environ.get("BENCH_DATABASE") or f"coursehub_bench_{profile}"
    dsn = f"{PG}/{name}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists or rebuild:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    # A database kept from an earlier run gets the migrations added since (new indexes, tables).
    subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=ROOT,
        env=sh_env(dsn),
        check=True,
        capture_output=True,
    )
    if exists and not rebuild:
        return dsn
    from bench.data import build

    print(f"building the {profile} profile in {name} ...", flush=True)
    build(dsn, profile)
    return dsn


def time_leaderboard_rebuild(dsn: str) -> float:
    code = (
        "import time; from web.app import create_app;"
        "from common.gamification.service import rebuild_leaderboards;"
        "app=create_app(); ctx=app.app_context(); ctx.push(); t=time.perf_counter(); rebuild_leaderboards();"
        "print(time.perf_counter()-t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=sh_env(dsn), check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def mint_tokens(dsn: str, user_ids: list[int]) -> list[str]:
    code = (
        "import json,sys; from web.app import create_app; from common.accounts.models import User;"
        "from common.accounts.tokens import issue_tokens; from common.db import db; app=create_app();"
        "ctx=app.app_context(); ctx.push(); ids=json.loads(sys.argv[1]);"
        "print(json.dumps([issue_tokens(db.session.get(User, i))['access_token'] for i in ids]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(user_ids)],
        cwd=ROOT,
        env=sh_env(dsn),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


class Gunicorn:
    """gunicorn with the repository's gunicorn.conf.py (worker class, workers, threads), so the
    product and the ceiling always run under the same settings."""

    def __init__(self, target: str, port: int, env: dict):
        self.args = [
            sys.executable,
            "-m",
            "gunicorn",
            target,
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--access-logfile",
            "/dev/null",
        ]
        self.env, self.port = env, port

    def __enter__(self):
        self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env, start_new_session=True)
        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{self.port}/api/health", timeout=1)
                return self
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn {self.args} did not start")

    def worker_rss_mb(self) -> list[float]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        sizes = []
        for pid in children:
            status = Path(f"/proc/{pid}/status").read_text()
            sizes.append(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024)
        return sizes

    def __exit__(self, *exc):
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=20)


def _ms(match) -> float:
    return round(float(match.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[match.group(2)], 2)


def wrk(
    url: str, duration: int, connections: int, script: str | None = None, headers: dict | None = None
) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"50%\s+([\d.]+)(us|ms|s)", out))
    p99 = _ms(re.search(r"99%\s+([\d.]+)(us|ms|s)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0,
    }


def lua_script(requests_: list[tuple[str, str, str, str]], walk: bool = False) -> str:
    """A wrk script cycling through (method, path, token, body) at random, or with `walk` in order,
    each wrk thread from its own half of the list (so no request repeats until the list runs out)."""
    lines = ["local reqs = {"]
    for method, path, token, body in requests_:
        lines.append("  {" + ", ".join(json.dumps(x) for x in (method, path, token, body)) + "},")
    lines += [
        "}",
        "math.randomseed(os.time())",
        "local threads, sent = 0, 0",
        "function setup(thread) thread:set('part', threads); threads = threads + 1 end",
        "request = function()",
        "  sent = sent + 1",
        "  local r = reqs[math.random(#reqs)]",
        *(["  r = reqs[((part or 0) * math.floor(#reqs / 2) + sent - 1) % #reqs + 1]"] if walk else []),
        '  local headers = {["Authorization"] = "Bearer " .. r[3], ["Content-Type"] = "application/json"}',
        "  return wrk.format(r[1], r[2], headers, r[4])",
        "end",
    ]
    fd, path = tempfile.mkstemp(suffix=".lua")
    Path(path).write_text("\n".join(lines))
    os.close(fd)
    return path


def sample(dsn: str) -> dict:
    with psycopg.connect(dsn) as conn:
        # Students and their content in approved (public) courses only.
        approved = "JOIN courses c ON c.id = e.course_id AND c.status = 'approved'"
        students = [
            r[0]
            for r in conn.execute(
                f"SELECT DISTINCT e.user_id FROM enrollments e {approved} ORDER BY e.user_id LIMIT 200"
            ).fetchall()
        ]
        lessons = conn.execute(
            f"SELECT e.user_id, l.id FROM enrollments e {approved} "
            "JOIN lessons l ON l.course_id = e.course_id "
            "WHERE e.user_id = ANY(%s) ORDER BY random() LIMIT 2000",
            (students,),
        ).fetchall()
        # First completions: lessons not yet completed by the first FRESH_STUDENTS active students
        # (after the 200 above) who have any left, each used once (see measured_routes); a run uses
        # up at most FRESH_LESSONS of ~1.8 million.
        fresh_lessons = conn.execute(
            "WITH fresh AS ("
            f"  SELECT e.user_id, l.id AS lesson_id FROM enrollments e {approved} "
            "  JOIN users u ON u.id = e.user_id AND u.role = 'student' AND u.status = 'active' "
            "  JOIN lessons l ON l.course_id = e.course_id "
            "  WHERE e.status = 'active' AND e.user_id > %s AND NOT EXISTS "
            "  (SELECT 1 FROM lesson_progress p WHERE p.user_id = e.user_id AND p.lesson_id = l.id)), "
            "chosen AS (SELECT DISTINCT user_id FROM fresh ORDER BY user_id LIMIT %s) "
            "SELECT user_id, lesson_id FROM fresh JOIN chosen USING (user_id) ORDER BY random() LIMIT %s",
            (max(students), FRESH_STUDENTS, FRESH_LESSONS),
        ).fetchall()
        quizzes = conn.execute(
            f"SELECT e.user_id, q.id FROM enrollments e {approved} "
            "JOIN quizzes q ON q.course_id = e.course_id "
            "WHERE e.user_id = ANY(%s) ORDER BY random() LIMIT 2000",
            (students,),
        ).fetchall()
        course = conn.execute(
            f"SELECT e.course_id FROM enrollments e {approved} WHERE e.user_id = %s LIMIT 1", (students[0],)
        ).fetchone()[0]
        domain = conn.execute("SELECT domain FROM courses WHERE id = %s", (course,)).fetchone()[0]
        admin = conn.execute("SELECT id FROM users WHERE role = 'admin' LIMIT 1").fetchone()[0]
        enrolled = conn.execute(
            f"SELECT e.user_id, e.course_id FROM enrollments e {approved} WHERE e.user_id = ANY(%s)",
            (students,),
        ).fetchall()
    return {
        "students": students,
        "lessons": lessons,
        "quizzes": quizzes,
        "fresh_lessons": fresh_lessons,
        "course": course,
        "domain": domain,
        "admin": admin,
        "enrolled": enrolled,
    }


FORUM_POSTS = 30
# The lesson-completion row measures first completions (the write a student makes once per lesson):
# FRESH_LESSONS (student, lesson) pairs of up to FRESH_STUDENTS students, split between the rounds.
FRESH_LESSONS, FRESH_STUDENTS = 40_000, 3_000


def ensure_forum_posts(base: str, course: int, token: str) -> None:
    """The measured course gets FORUM_POSTS posts (through the API, once; later runs reuse them)."""
    headers = {"Authorization": f"Bearer {token}"}
    listed = requests.get(f"{base}/api/courses/{course}/posts", headers=headers, timeout=10).json()
    for i in range(listed.get("total", 0), FORUM_POSTS):
        body = {"title": f"Bench question {i}", "body": "How does this lesson's example work? " * 4}
        requests.post(f"{base}/api/courses/{course}/posts", json=body, headers=headers, timeout=10)


def time_admin_stats(base: str, token: str, redis_url: str, rounds: int = 5) -> dict:
    """GET /api/admin/stats with its cache entry deleted before each call: the uncached cost."""
    import redis

    from common.admin.stats import CACHE_KEY

    client = redis.Redis.from_url(redis_url)
    times, status = [], None
    for _ in range(rounds):
        client.delete(CACHE_KEY)
        started = time.perf_counter()
        status = requests.get(
            base + "/api/admin/stats", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).status_code
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"status": status, "ms": round(times[len(times) // 2], 1), "max_ms": round(times[-1], 1)}


def measured_routes(data: dict, tokens: dict) -> list[dict]:
    """Every measured route: name, kind (its target), and either a path (+ token) or a wrk script."""
    token = tokens[data["students"][0]]
    course = data["course"]
    rows = [
        ("/api/health", "floor", "/api/health", None),
        ("catalogue by domain", "cached", f"/api/courses?domain={data['domain']}", None),
        ("course outline", "cached", f"/api/courses/{course}", None),
        ("leaderboard top 10", "cached", "/api/leaderboard?period=weekly", None),
        ("leaderboard top 100", "cached", "/api/leaderboard?period=monthly&limit=100", None),
        ("leaderboard top 10 with me (auth)", "board-auth", "/api/leaderboard?period=weekly", token),
        (
            "leaderboard top 100 with me (auth)",
            "board-auth",
            "/api/leaderboard?period=monthly&limit=100",
            token,
        ),
        ("catalogue search (auth)", "uncached", "/api/courses?q=python&sort=newest", token),
        ("/me/enrollments", "uncached", "/api/me/enrollments", token),
        ("course progress", "uncached", f"/api/me/courses/{course}/progress", token),
        ("forum thread list (auth)", "uncached", f"/api/courses/{course}/posts", token),
    ]
    routes = [{"name": n, "kind": k, "method": "GET", "path": p, "token": t} for n, k, p, t in rows]
    lessons = [
        ("POST", f"/api/lessons/{lid}/complete", tokens[uid], "") for uid, lid in data["fresh_lessons"]
    ]
    attempts = [
        (
            "POST",
            f"/api/quizzes/{qid}/attempts",
            tokens[uid],
            json.dumps({"selected_option": random.choice([0, 1])}),
        )
        for uid, qid in data["quizzes"]
    ]
    # A quiz is answered again and again (random picks); a lesson is completed once (walked in order).
    for name, reqs, walk in (("lesson completion", lessons, True), ("quiz attempt", attempts, False)):
        if len(reqs) < 2:  # nothing left to send (every sampled lesson completed): not measured
            print(f"{name}: no requests to send, not measured", flush=True)
            continue
        method, path, token_, body = reqs[0]
        routes.append(
            {
                "name": name,
                "kind": "write",
                "method": method,
                "path": path,
                "token": token_,
                "body": body,
                "reqs": reqs[1:] if walk else reqs,  # the probe sends the first
                "walk": walk,
            }
        )
    return routes


def probe(base: str, route: dict) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if route["token"]:
        headers["Authorization"] = f"Bearer {route['token']}"
    return requests.request(
        route["method"], base + route["path"], data=route.get("body"), headers=headers, timeout=10
    )


def round_script(route: dict, round_: int, rounds: int) -> str | None:
    """The wrk script of one round: a walked list gives each round its own share, so a later round
    does not repeat what an earlier one completed."""
    if "reqs" not in route:
        return None
    reqs = route["reqs"]
    if route.get("walk"):
        # A thread that sends more than its half of the share wraps around into repeats.
        share = max(len(reqs) // rounds, 1)
        reqs = reqs[round_ * share : (round_ + 1) * share] or reqs[-share:]
    return lua_script(reqs, walk=route.get("walk", False))


def measure(route: dict, product: str, ceiling: str, args) -> dict:
    """Interleaved wrk runs: product, ceiling (same body size), for args.rounds rounds; means reported."""
    response = probe(product, route)
    if response.status_code >= 400:
        return {"name": route["name"], "kind": route["kind"], "skipped": f"HTTP {response.status_code}"}
    size = len(response.content)
    scripted = "reqs" in route
    headers = {"Authorization": f"Bearer {route['token']}"} if route["token"] and not scripted else None
    runs, ceilings = [], []
    for round_ in range(args.rounds):
        script = round_script(route, round_, args.rounds)
        target = product + ("/" if script else route["path"])
        runs.append(wrk(target, args.duration, args.connections, script=script, headers=headers))
        ceilings.append(wrk(f"{ceiling}/bytes/{size}", args.duration, args.connections))
    row = {"name": route["name"], "kind": route["kind"], "bytes": size}
    for key in ("rps", "p50_ms", "p99_ms"):
        row[key] = round(sum(r[key] for r in runs) / len(runs), 2)
    row["non_2xx"] = sum(r["non_2xx"] for r in runs)
    row["ceiling_rps"] = round(sum(c["rps"] for c in ceilings) / len(ceilings), 1)
    row["ratio"] = round(row["rps"] / row["ceiling_rps"], 3)
    return row


def main() -> None:
    global REDIS_URL
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", default="100k")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1, help="interleaved product/ceiling runs per route")
    parser.add_argument("--only", default="", help="comma-separated route names (default: all)")
    parser.add_argument("--label", default="", help="written into the report (what was measured)")
    parser.add_argument("--no-report", action="store_true", help="print the rows, do not rewrite the report")
    args = parser.parse_args()
    for tool in ("wrk", "redis-server"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed (Debian: apt-get install {tool})")
    from bench.session import run_sessions
    from tests.redis_server import PrivateRedis

    redis_server = PrivateRedis().start()
    REDIS_URL = redis_server.url
    try:
        dsn = ensure_database(args.profile, args.rebuild)
        env = sh_env(dsn)
        report = {
            "profile": args.profile,
            "duration_s": args.duration,
            "connections": args.connections,
            "rounds": args.rounds,
            "label": args.label,
            "gunicorn": gunicorn_settings(env),
        }
        report["leaderboard_rebuild_s"] = round(time_leaderboard_rebuild(dsn), 2)
        print(f"leaderboard rebuild: {report['leaderboard_rebuild_s']} s", flush=True)
        data = sample(dsn)
        ids = sorted({*data["students"], data["admin"], *(uid for uid, _ in data["fresh_lessons"])})
        tokens = dict(zip(ids, mint_tokens(dsn, ids), strict=True))
        product, ceiling = f"http://127.0.0.1:{PRODUCT_PORT}", f"http://127.0.0.1:{CEILING_PORT}"
        only = {x.strip() for x in args.only.split(",") if x.strip()}
        rows = []
        with Gunicorn("web.app:create_app()", PRODUCT_PORT, env) as server:
            with Gunicorn("bench.ceiling:create_app()", CEILING_PORT, env):
                ensure_forum_posts(product, data["course"], tokens[data["students"][0]])
                for route in measured_routes(data, tokens):
                    if only and route["name"] not in only:
                        continue
                    rows.append(measure(route, product, ceiling, args))
                    print(json.dumps(rows[-1]), flush=True)
            report["admin_stats"] = time_admin_stats(product, tokens[data["admin"]], REDIS_URL)
            report["session"] = run_sessions(product, data, tokens)
            report["web_worker_rss_mb"] = [round(x, 1) for x in server.worker_rss_mb()]
        report["routes"] = rows
        if args.no_report:
            print(json.dumps(report, indent=1))
        else:
            write_report(report)
    finally:
        redis_server.stop()


def gunicorn_settings(env: dict) -> dict:
    """The worker class, workers and threads gunicorn.conf.py gives under this environment."""
    code = (
        "import runpy, json, sys; c = runpy.run_path(sys.argv[1]);"
        "print(json.dumps({k: c[k] for k in ('worker_class', 'workers', 'threads')}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "gunicorn.conf.py")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


TARGETS = {
    "floor": (0.90, None),
    "cached": (0.75, None),
    "board-auth": (0.75, 50),
    "uncached": (0.35, 50),
    "write": (0.20, 100),
}


def write_report(report: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"run-{report['profile']}.json").write_text(json.dumps(report, indent=2))
    g = report["gunicorn"]
    lines = [
        f"# Benchmark report ({report['profile']} profile)",
        "",
        f"wrk -t2 -c{report['connections']} -d{report['duration_s']}s on loopback, "
        f"{report['rounds']} interleaved round(s) per route; gunicorn {g['workers']} workers, "
        f"worker class {g['worker_class']}, "
        f"{g['threads']} threads (gunicorn.conf.py), for the product and the ceiling alike; "
        "ratio = product req/s ÷ ceiling req/s (minimal Flask app, same body size).",
    ]
    if report.get("label"):
        lines += ["", report["label"]]
    lines += [
        "",
        "| route | kind | req/s | ceiling req/s | ratio | target | p50 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["routes"]:
        if "skipped" in row:
            lines.append(f"| {row['name']} | {row['kind']} | skipped ({row['skipped']}) | | | | | | |")
            continue
        ratio_target, p99_target = TARGETS[row["kind"]]
        target = f"≥ {ratio_target:.0%}" + (f", p99 < {p99_target} ms" if p99_target else "")
        lines.append(
            f"| {row['name']} | {row['kind']} | {row['rps']:.0f} | {row['ceiling_rps']:.0f} | "
            f"{row['ratio']:.0%} | {target} | {row['p50_ms']} | {row['p99_ms']} | {row['non_2xx']} |"
        )
    stats, session = report["admin_stats"], report["session"]
    lines += [
        "",
        f"- leaderboard rebuild: {report['leaderboard_rebuild_s']} s (target < 10 s)",
        f"- GET /api/admin/stats uncached: HTTP {stats['status']}, median {stats['ms']} ms, "
        f"max {stats['max_ms']} ms of 5 (target < 200 ms)",
        f"- mixed student session ({session['students']} students x {session['sessions']} sessions: "
        "browse -> open course -> complete lessons -> answer quizzes -> read the board): "
        f"{session['requests']} requests, "
        f"{session['errors']} errors (target 0), {session['refused']} expected refusals "
        f"(quiz attempts used up), p50 {session['p50_ms']} ms, p99 {session['p99_ms']} ms",
        f"- gunicorn worker RSS after the runs: {report['web_worker_rss_mb']} MB (target ≤ 150 MB each)",
        "",
        f"Before/after figures of each change: HISTORY-{report['profile']}.md (kept by hand).",
    ]
    (RESULTS / f"REPORT-{report['profile']}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
