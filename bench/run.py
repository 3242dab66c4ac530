"""Load benchmarks against PERFORMANCE.md: throughput as a ratio to a same-size ceiling app, p99, memory.

    python -m bench.run [--profile 100k|small] [--rebuild] [--duration 10]

BENCH_REDIS_URL (default redis://127.0.0.1:6379/9, flushed) and BENCH_DATABASE (default
coursehub_bench_<profile>) choose where it runs.

Builds (once) a PostgreSQL database with the chosen data profile, starts the product under
gunicorn (2 sync workers), runs wrk -t2 -c32 against each measured route and against the ceiling
app with a body of the same size, and writes bench/results/REPORT.md. Needs wrk (Debian: wrk).
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
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
PRODUCT_PORT, CEILING_PORT = 18000, 18001


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
        APP_ENV="bench",
        INSTANCE_DIR=str(ROOT / "instance" / "bench"),
    )
    return env


def ensure_database(profile: str, rebuild: bool) -> str:
    name = os.environ.get("BENCH_DATABASE") or f"coursehub_bench_{profile}"
    dsn = f"{PG}/{name}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and not rebuild:
            return dsn
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=ROOT,
        env=sh_env(dsn),
        check=True,
        capture_output=True,
    )
    from bench.data import build

    print(f"building the {profile} profile in {name} ...", flush=True)
    build(dsn, profile)
    return dsn


def time_leaderboard_rebuild(dsn: str) -> float:
    code = (
        "import time; from web.app import create_app; from common.gamification.service import rebuild_leaderboards;"
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
    def __init__(self, target: str, port: int, env: dict, workers: int = 2):
        self.args = [
            sys.executable,
            "-m",
            "gunicorn",
            target,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
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
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "p99_ms": round(p99_ms, 2), "non_2xx": int(non2xx.group(1)) if non2xx else 0}


def lua_script(requests_: list[tuple[str, str, str, str]]) -> str:
    """A wrk script cycling through (method, path, token, body) at random."""
    lines = ["local reqs = {"]
    for method, path, token, body in requests_:
        lines.append("  {%s, %s, %s, %s}," % tuple(json.dumps(x) for x in (method, path, token, body)))
    lines += [
        "}",
        "math.randomseed(os.time())",
        "request = function()",
        "  local r = reqs[math.random(#reqs)]",
        '  return wrk.format(r[1], r[2], {["Authorization"] = "Bearer " .. r[3], ["Content-Type"] = "application/json"}, r[4])',
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
            f"SELECT e.user_id, l.id FROM enrollments e {approved} JOIN lessons l ON l.course_id = e.course_id "
            "WHERE e.user_id = ANY(%s) ORDER BY random() LIMIT 2000",
            (students,),
        ).fetchall()
        quizzes = conn.execute(
            f"SELECT e.user_id, q.id FROM enrollments e {approved} JOIN quizzes q ON q.course_id = e.course_id "
            "WHERE e.user_id = ANY(%s) ORDER BY random() LIMIT 2000",
            (students,),
        ).fetchall()
        course = conn.execute(
            f"SELECT e.course_id FROM enrollments e {approved} WHERE e.user_id = %s LIMIT 1", (students[0],)
        ).fetchone()[0]
        admin = conn.execute("SELECT id FROM users WHERE role = 'admin' LIMIT 1").fetchone()[0]
    return {"students": students, "lessons": lessons, "quizzes": quizzes, "course": course, "admin": admin}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", default="100k")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    dsn = ensure_database(args.profile, args.rebuild)
    env = sh_env(dsn)
    subprocess.run(["redis-cli", "-u", REDIS_URL, "FLUSHDB"], check=False, capture_output=True)
    report = {"profile": args.profile, "duration_s": args.duration, "connections": args.connections}
    report["leaderboard_rebuild_s"] = round(time_leaderboard_rebuild(dsn), 2)
    print(f"leaderboard rebuild: {report['leaderboard_rebuild_s']} s", flush=True)
    data = sample(dsn)
    tokens = dict(
        zip(data["students"] + [data["admin"]], mint_tokens(dsn, data["students"] + [data["admin"]]))
    )
    student_token = tokens[data["students"][0]]
    base = f"http://127.0.0.1:{PRODUCT_PORT}"
    reads = [
        ("catalogue by domain", "cached", "/api/courses?domain=data-science", None),
        ("course outline", "cached", f"/api/courses/{data['course']}", None),
        ("leaderboard top 10", "cached", "/api/leaderboard?period=weekly", None),
        ("leaderboard top 100", "cached", "/api/leaderboard?period=monthly&limit=100", None),
        ("leaderboard top 10 with me (auth)", "uncached", "/api/leaderboard?period=weekly", student_token),
        (
            "leaderboard top 100 with me (auth)",
            "uncached",
            "/api/leaderboard?period=monthly&limit=100",
            student_token,
        ),
        ("catalogue search (auth)", "uncached", "/api/courses?q=python&sort=newest", student_token),
        ("/me/enrollments", "uncached", "/api/me/enrollments", student_token),
        ("course progress", "uncached", f"/api/me/courses/{data['course']}/progress", student_token),
    ]
    writes = [
        (
            "lesson completion",
            [("POST", f"/api/lessons/{lid}/complete", tokens[uid], "") for uid, lid in data["lessons"]],
        ),
        (
            "quiz attempt",
            [
                (
                    "POST",
                    f"/api/quizzes/{qid}/attempts",
                    tokens[uid],
                    json.dumps({"selected_option": random.choice([0, 1])}),
                )
                for uid, qid in data["quizzes"]
            ],
        ),
    ]
    rows = []
    with Gunicorn("web.app:create_app()", PRODUCT_PORT, env) as product:
        for name, kind, path, token in reads:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            probe = requests.get(base + path, headers=headers, timeout=10)
            if probe.status_code != 200:
                rows.append({"name": name, "kind": kind, "skipped": f"HTTP {probe.status_code}"})
                continue
            result = wrk(base + path, args.duration, args.connections, headers=headers)
            rows.append({"name": name, "kind": kind, "bytes": len(probe.content), **result})
        for name, reqs in writes:
            method, path, token, body = reqs[0]
            probe = requests.request(
                method,
                base + path,
                data=body,
                timeout=10,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            if probe.status_code >= 400:
                rows.append({"name": name, "kind": "write", "skipped": f"HTTP {probe.status_code}"})
                continue
            result = wrk(base + "/", args.duration, args.connections, script=lua_script(reqs))
            rows.append({"name": name, "kind": "write", "bytes": len(probe.content), **result})
        started = time.perf_counter()
        stats = requests.get(
            base + "/api/admin/stats",
            headers={"Authorization": f"Bearer {tokens[data['admin']]}"},
            timeout=30,
        )
        report["admin_stats"] = {
            "status": stats.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        }
        report["web_worker_rss_mb"] = [round(x, 1) for x in product.worker_rss_mb()]
    for row in rows:
        if "skipped" in row:
            continue
        ceiling_env = {**env, "CEILING_BYTES": str(row["bytes"])}
        with Gunicorn("bench.ceiling:create_app()", CEILING_PORT, ceiling_env):
            row["ceiling_rps"] = wrk(
                f"http://127.0.0.1:{CEILING_PORT}/api/health", args.duration, args.connections
            )["rps"]
        row["ratio"] = round(row["rps"] / row["ceiling_rps"], 3)
        print(json.dumps(row), flush=True)
    report["routes"] = rows
    write_report(report)


TARGETS = {"cached": (0.75, None), "uncached": (0.35, 50), "write": (0.20, 100)}


def write_report(report: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"run-{report['profile']}.json").write_text(json.dumps(report, indent=2))
    lines = [
        f"# Benchmark report ({report['profile']} profile)",
        "",
        f"wrk -t2 -c{report['connections']} -d{report['duration_s']}s on loopback, gunicorn 2 sync workers; "
        "ratio = product req/s ÷ ceiling req/s (minimal Flask app, same body size, same gunicorn settings).",
        "",
        "| route | kind | req/s | ceiling req/s | ratio | target | p99 ms | non-2xx |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report["routes"]:
        if "skipped" in row:
            lines.append(f"| {row['name']} | {row['kind']} | skipped ({row['skipped']}) | | | | | |")
            continue
        ratio_target, p99_target = TARGETS[row["kind"]]
        target = f"≥ {ratio_target:.0%}" + (f", p99 < {p99_target} ms" if p99_target else "")
        lines.append(
            f"| {row['name']} | {row['kind']} | {row['rps']:.0f} | {row['ceiling_rps']:.0f} | "
            f"{row['ratio']:.0%} | {target} | {row['p99_ms']} | {row['non_2xx']} |"
        )
    lines += [
        "",
        f"- leaderboard rebuild: {report['leaderboard_rebuild_s']} s (target < 10 s)",
        f"- GET /api/admin/stats: HTTP {report['admin_stats']['status']}, {report['admin_stats']['ms']} ms (target < 200 ms)",
        f"- gunicorn worker RSS after the runs: {report['web_worker_rss_mb']} MB (target ≤ 150 MB each)",
    ]
    (RESULTS / f"REPORT-{report['profile']}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
