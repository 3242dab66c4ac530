"""Benchmark: 200,000-row enrollments export (CSV and XLSX) through a real Celery worker, and GET /admin/stats
uncached, on the 100k profile.

    flock /tmp/coursehub-slot-a.lock python -m bench.reports [--dsn postgresql://.../coursehub_bench_admin]

Needs a database built by bench.data (100k profile) and a Redis (BENCH_REDIS_URL). Reports rows/s and the
worker's peak RSS over its idle RSS (solo pool: the task runs in the measured process), and the stats
timings; writes bench/results/reports.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/coursehub_bench_admin"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6391/8")


def env_for(dsn: str, storage: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "COV_"))}
    env.update(
        DATABASE_URL=dsn,
        REDIS_URL=REDIS_URL,
        CELERY_BROKER_URL=REDIS_URL,
        APP_ENV="bench",
        SECRET_KEY="bench-secret-key-0123456789abcdef0123456789",
        FLASK_APP="web.app:create_app",
        JWT_SECRET_KEY="bench-jwt-secret-0123456789abcdef0123456789",
        STORAGE_DIR=str(storage),
        INSTANCE_DIR=str(ROOT / "instance" / "bench"),
    )
    return env


def ensure_payments(dsn: str) -> None:
    """The 100k profile has no payments: add 60,000 (5 % refunded) so the stats have money to add up."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        if conn.execute("SELECT count(*) FROM payments").fetchone()[0]:
            return
        conn.execute("""
            INSERT INTO payments (user_id, course_id, course_title, amount, currency, receipt, order_id,
                                  payment_id, status, paid_at, refunded_at, created_at, updated_at)
            SELECT e.user_id, e.course_id, 'Course', 49900, 'INR', 'rcpt_b' || e.id, 'order_b' || e.id,
                   'pay_b' || e.id,
                   CASE WHEN e.id % 20 = 0 THEN 'refunded' ELSE 'paid' END, e.enrolled_at,
                   CASE WHEN e.id % 20 = 0 THEN e.enrolled_at + interval '1 day' END, e.enrolled_at, now()
            FROM enrollments e WHERE e.id <= 60000""")
        conn.execute("ANALYZE")


def rss_kb(pid: int) -> tuple[int, int]:
    """(current RSS, high-water mark) of a process in kB, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def run_exports(env: dict) -> list[dict]:
    results = []
    for fmt in ("csv", "xlsx"):
        # A fresh worker per format, so each peak is that export's alone.
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "worker.celery_app",
                "worker",
                "-Q",
                "reports",
                "--pool=solo",
                "--loglevel=WARNING",
                "-n",
                f"bench-{fmt}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(8)  # start-up, broker connection
            idle, idle_hwm = rss_kb(worker.pid)
            client = subprocess.Popen(
                [sys.executable, "-c", REQUEST_SNIPPET, fmt],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            peak = idle
            while client.poll() is None:  # sample the worker's RSS while it exports
                peak = max(peak, rss_kb(worker.pid)[0])
                time.sleep(0.02)
            assert client.returncode == 0
            out = client.stdout.read().split()
            rows, seconds, size = int(out[0]), float(out[1]), int(out[2])
        finally:
            worker.terminate()
            worker.wait(30)
        results.append(
            {
                "format": fmt,
                "rows": rows,
                "seconds": round(seconds, 1),
                "rows_per_s": round(rows / seconds),
                "file_mb": round(size / 1e6, 1),
                "idle_rss_mb": round(idle / 1024, 1),
                "idle_hwm_mb": round(idle_hwm / 1024, 1),
                "peak_rss_mb": round(peak / 1024, 1),
                "peak_over_idle_mb": round((peak - idle) / 1024, 1),
            }
        )
        print(results[-1], flush=True)
    return results


# Runs in a subprocess with the bench env: request the export as an admin, wait, print rows, seconds, bytes.
REQUEST_SNIPPET = """
import sys, time
from web.app import create_app
from common.admin import reports
from common.db import db
from common.jobs.models import Job
from common.storage import get_storage
app = create_app()
with app.app_context():
    job = reports.request_report(actor_id=1, report_type="enrollments", fmt=sys.argv[1])
    while True:
        db.session.expire_all()
        job = db.session.get(Job, job.id)
        if job.status in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    assert job.status == "succeeded", job.error
    key = job.result["storage_key"]
    size = len(get_storage().get(key))
    get_storage().delete(key)
    print(job.result["rows"], (job.finished_at - job.started_at).total_seconds(), size)
"""

STATS_SNIPPET = """
import time, json
from web.app import create_app
from common.admin.stats import compute_stats
app = create_app()
with app.app_context():
    compute_stats()
    samples = []
    for _ in range(15):
        t = time.perf_counter(); compute_stats(); samples.append((time.perf_counter() - t) * 1000)
    print(json.dumps(samples))
"""


def run_stats(env: dict) -> dict:
    import json

    out = subprocess.run(
        [sys.executable, "-c", STATS_SNIPPET], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    samples = sorted(json.loads(out.strip().splitlines()[-1]))
    return {
        "runs": len(samples),
        "median_ms": round(statistics.median(samples), 1),
        "max_ms": round(samples[-1], 1),
        "min_ms": round(samples[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    args = parser.parse_args()
    storage = ROOT / "instance" / "bench" / "storage"
    env = env_for(args.dsn, storage)
    subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    ensure_payments(args.dsn)
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        # What autovacuum does on a live database (the visibility map makes index-only scans possible).
        conn.execute("VACUUM ANALYZE users, enrollments, payments, courses")
    load_before = os.getloadavg()[0]
    with psycopg.connect(args.dsn) as conn:
        counts = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("users", "courses", "enrollments", "payments", "lesson_progress", "xp_events")
        }
    stats = run_stats(env)
    print("stats", stats, flush=True)
    exports = run_exports(env)
    lines = [
        "# Reports and admin stats benchmark",
        "",
        "Run: `flock /tmp/coursehub-slot-a.lock python -m bench.reports` (2-core machine, PostgreSQL 15).",
        "",
        f"Load average (1 min) at the start: {load_before:.2f} — other engineers' test runs share the "
        "machine, so the figures are noisy.",
        "",
        "Data: " + ", ".join(f"{n:,} {t}" for t, n in counts.items()) + " (bench.data 100k profile plus "
        "60,000 payments, 5 % refunded, added by this script).",
        "",
        "## Enrollments export, 200,000 rows, one Celery worker (`--pool=solo`, the task runs in the "
        "measured process)",
        "",
        "| format | rows | seconds (claim to finish) | rows/s | file MB | idle RSS MB "
        "| peak RSS MB during the export (sampled every 20 ms) | peak over idle MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in exports:
        lines.append(
            f"| {r['format']} | {r['rows']:,} | {r['seconds']} | {r['rows_per_s']:,} | {r['file_mb']} | "
            f"{r['idle_rss_mb']} | {r['peak_rss_mb']} | {r['peak_over_idle_mb']} |"
        )
    hwm = max(r["idle_hwm_mb"] for r in exports)
    lines += [
        "",
        "Idle = the worker's RSS 8 s after start; the peak is sampled from /proc while the export runs. "
        f"(The process's own high-water mark, {hwm} MB, is set during Celery's start-up, before any export, "
        "so it is not used.) Target: peak ≤ 100 MB over idle whatever the row count (rows stream from a "
        "server-side cursor in batches of 2,000; CSV via the csv module, XLSX via openpyxl's write-only "
        "workbook; the file is uploaded from disk).",
        "",
        "## GET /admin/stats uncached (`compute_stats()` in a process of the app: every query, no cache, "
        "no HTTP)",
        "",
        f"{stats['runs']} runs after one warm-up: median {stats['median_ms']} ms, min {stats['min_ms']} ms, "
        f"max {stats['max_ms']} ms (target < 200 ms).",
        "",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reports.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":  # pragma: no cover
    main()
