"""Certificate rendering benchmark: PDFs per second, per-certificate latency and memory with a warm Chromium.

    python -m bench.certificates [--count 300] [--processes 1,2] [--worker-count 200] [--no-worker]

Part 1 renders certificates in this process the way a worker does (template + QR code + Chromium print on
one reused page), single-threaded, after a warm-up; with --processes 1,2 it also runs that loop in two
processes at once (the 2-core machine's aggregate). Part 2 starts a real certificates worker (Celery,
solo pool, as in the Procfile) on a scratch PostgreSQL database and Redis, queues --worker-count renders
through `certificates.render` and waits for all of them to be `ready` in the database: the full task
path (DB, template, Chromium, storage write). Memory is read from /proc: the RSS of the process plus
its descendants (Chromium's processes and Playwright's driver), and their PSS, which counts pages that
Chromium's processes share only once. Writes bench/results/certificates.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "certificates.md"
BENCH_DB = os.environ.get(
    "BENCH_CERT_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/coursehub_bench_certs"
)
BENCH_REDIS = os.environ.get("BENCH_CERT_REDIS_URL", "redis://127.0.0.1:6379/12")


# -- /proc helpers ---------------------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _kib(path: str, field: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_memory_mb(pid: int) -> dict:
    """RSS and PSS (MB) of a process and all its descendants."""
    pids = [pid, *descendants(pid)]
    rss = sum(_kib(f"/proc/{p}/status", "VmRSS") for p in pids)
    pss = sum(_kib(f"/proc/{p}/smaps_rollup", "Pss") for p in pids)
    own = _kib(f"/proc/{pid}/status", "VmRSS")
    return {"processes": len(pids), "rss_mb": rss / 1024, "pss_mb": pss / 1024, "python_rss_mb": own / 1024}


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


# -- part 1: the render loop in-process ------------------------------------------------------------------


def _render_loop(count: int, warmup: int, queue=None) -> dict:
    from common.certificates.renderer import certificate_html, renderer

    issued = datetime.now(UTC)

    def html(i: int) -> str:
        code = f"bench{i:06d}-{os.getpid()}-Xy9Qz3Lm0Pq"
        return certificate_html(
            learner_name=f"Learner Number {i}",
            course_title=f"Benchmark Course {i % 50}",
            instructor_name="Dr. Bench Marker",
            issue_date=issued,
            verification_code=code,
            verification_url=f"https://courses.example.com/api/certificates/verify/{code}",
        )

    launch_start = time.perf_counter()
    renderer.render_pdf(html(-1))
    first_ms = (time.perf_counter() - launch_start) * 1000
    for i in range(warmup):
        renderer.render_pdf(html(i))
    latencies, sizes = [], []
    start = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        sizes.append(len(renderer.render_pdf(html(i))))
        latencies.append((time.perf_counter() - t0) * 1000)
    wall = time.perf_counter() - start
    memory = tree_memory_mb(os.getpid())  # after the timed loop: reading smaps is not free
    launches = renderer.launches()
    renderer.shutdown()
    latencies.sort()
    result = {
        "count": count,
        "wall_s": wall,
        "per_s": count / wall,
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
        "p99": percentile(latencies, 0.99),
        "max": latencies[-1],
        "first_ms": first_ms,
        "pdf_kb": sum(sizes) / len(sizes) / 1024,
        "launches": launches,
        **memory,
    }
    if queue is not None:
        queue.put(result)
    return result


def run_render(count: int, warmup: int, processes: int) -> dict:
    if processes == 1:
        return _render_loop(count, warmup)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_render_loop, args=(count, warmup, queue)) for _ in range(processes)]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    return {
        "processes": processes,
        "per_s_total": sum(r["per_s"] for r in results),
        "p50": max(r["p50"] for r in results),
        "p95": max(r["p95"] for r in results),
        "rss_mb": max(r["rss_mb"] for r in results),
        "pss_mb": max(r["pss_mb"] for r in results),
    }


# -- part 2: a real certificates worker ------------------------------------------------------------------


def _bench_env(storage_dir: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "COV_"))}
    env.update(
        DATABASE_URL=BENCH_DB,
        REDIS_URL=BENCH_REDIS,
        CELERY_BROKER_URL=BENCH_REDIS,
        APP_ENV="bench",
        SECRET_KEY="bench-secret-key-0123456789abcdef0123456789",
        STORAGE_DIR=storage_dir,
        JWT_SECRET_KEY="bench-jwt-secret-0123456789abcdef0123456789",
        PYTHONPATH=str(ROOT),
        INSTANCE_DIR=str(Path(storage_dir).parent / "instance"),
        PUBLIC_BASE_URL="https://courses.example.com",
    )
    return env


def run_worker(count: int) -> dict:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(BENCH_DB)
    with psycopg.connect(
        f"postgresql://{url.username}@{url.host}:{url.port or 5432}/postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{url.database}"')
    work = tempfile.mkdtemp(prefix="bench-certs-")
    env = _bench_env(str(Path(work) / "storage"))
    os.environ.update(env)
    from flask_migrate import upgrade
    from redis import Redis
    from sqlalchemy import func, select

    from common.accounts.models import User
    from common.catalog.models import Course
    from common.certificates import service
    from common.certificates.models import Certificate
    from common.db import db
    from web.app import create_app

    Redis.from_url(BENCH_REDIS).flushdb()
    app = create_app()
    with app.app_context():
        upgrade()
        teacher = User(
            email="bench-teacher@example.com", name="Dr. Bench Marker", role="instructor", password_hash="x"
        )
        db.session.add(teacher)
        db.session.flush()
        course = Course(
            instructor_id=teacher.id,
            title="Benchmark Course",
            description="bench",
            domain="bench",
            price=0,
            currency="INR",
            status="approved",
        )
        db.session.add(course)
        db.session.add_all(
            [
                User(email=f"bench{i}@example.com", name=f"Learner {i}", role="student", password_hash="x")
                for i in range(count + 1)
            ]
        )
        db.session.commit()
        learners = list(
            db.session.execute(select(User.id).where(User.role == "student").order_by(User.id)).scalars()
        )

        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "worker.celery_app",
                "worker",
                "-Q",
                "certificates",
                "--pool=solo",
                "--concurrency=1",
                "--loglevel=WARNING",
                "-n",
                "bench-certificates@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:

            def ready() -> int:
                db.session.rollback()
                return db.session.execute(
                    select(func.count()).select_from(Certificate).where(Certificate.status == "ready")
                ).scalar_one()

            def wait_ready(n: int, timeout: float) -> None:
                deadline = time.monotonic() + timeout
                while ready() < n:
                    if worker.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("worker failed: " + worker.stderr.read().decode()[-2000:])
                    time.sleep(0.02)

            # Warm-up: the worker's first certificate launches its browser.
            t0 = time.perf_counter()
            service.request_certificate(user_id=learners[0], course_id=course.id)
            wait_ready(1, 120)
            first_s = time.perf_counter() - t0
            idle = tree_memory_mb(worker.pid)
            start = time.perf_counter()
            for user_id in learners[1:]:
                service.request_certificate(user_id=user_id, course_id=course.id)
            # Sample gently: reading every process's smaps and polling the database steal CPU from the
            # worker on a 2-core machine, so memory is read once a second and the count 5 times a second.
            peak, last_sample, done = idle, 0.0, 0
            deadline = time.monotonic() + 600
            while done < count + 1:
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("worker failed: " + worker.stderr.read().decode()[-2000:])
                if time.monotonic() - last_sample >= 1:
                    sample, last_sample = tree_memory_mb(worker.pid), time.monotonic()
                    peak = sample if sample["pss_mb"] > peak["pss_mb"] else peak
                time.sleep(0.2)
                done = ready()
            wall = time.perf_counter() - start
            stats = db.session.execute(
                select(
                    func.max(Certificate.render_attempts), func.count().filter(Certificate.status != "ready")
                )
            ).one()
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    return {
        "count": count,
        "wall_s": wall,
        "per_s": count / wall,
        "first_s": first_s,
        "idle": idle,
        "peak": peak,
        "max_attempts": stats[0],
        "not_ready": stats[1],
    }


# -- report ----------------------------------------------------------------------------------------------


def write_report(single: dict, multi: dict | None, worker: dict | None, chromium: str, load: str) -> str:
    lines = [
        "# Certificate rendering benchmark",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'}: "
        f"{os.cpu_count()} CPUs, {chromium}, Playwright sync API, `python -m bench.certificates`; "
        f"load average before the run {load} (other work on the machine shows up as latency).",
        "Target (PERFORMANCE.md): p50 <= 50 ms, >= 20 certificates/s per worker process, worker with "
        "Chromium <= 600 MB.",
        "",
        "## Render loop in one process (template + QR + Chromium print, warm browser, one reused page)",
        "",
        "| certificates | per second | p50 ms | p95 ms | p99 ms | max ms | first render (launch) ms "
        "| PDF KB |",
        "|---|---|---|---|---|---|---|---|",
        f"| {single['count']} | {single['per_s']:.1f} | {single['p50']:.1f} | {single['p95']:.1f} | "
        f"{single['p99']:.1f} | {single['max']:.1f} | {single['first_ms']:.0f} | {single['pdf_kb']:.0f} |",
        "",
        f"Browsers launched: {single['launches']} (warm, reused for every certificate). "
        f"Memory after the run: {single['processes']} processes, RSS sum {single['rss_mb']:.0f} MB "
        f"(Python {single['python_rss_mb']:.0f} MB), "
        f"PSS {single['pss_mb']:.0f} MB.",
    ]
    if multi:
        lines += [
            "",
            f"Two processes rendering at once on the 2 cores: {multi['per_s_total']:.1f} certificates/s "
            f"in total, worst p50 {multi['p50']:.1f} ms, worst p95 {multi['p95']:.1f} ms, "
            f"per-process RSS sum {multi['rss_mb']:.0f} MB / PSS {multi['pss_mb']:.0f} MB.",
        ]
    if worker:
        peak, idle = worker["peak"], worker["idle"]
        lines += [
            "",
            "## A real certificates worker (Celery solo pool, Redis broker, PostgreSQL, local storage)",
            "",
            "| certificates | per second | first (browser launch) s | idle RSS / PSS MB | peak RSS / PSS MB "
            "| processes |",
            "|---|---|---|---|---|---|",
            f"| {worker['count']} | {worker['per_s']:.1f} | {worker['first_s']:.2f} | "
            f"{idle['rss_mb']:.0f} / {idle['pss_mb']:.0f} | {peak['rss_mb']:.0f} / {peak['pss_mb']:.0f} | "
            f"{peak['processes']} |",
            "",
            f"Each certificate: issued by `request_certificate`, queued, claimed by the worker, rendered and "
            f"written to storage, row marked ready. Max render attempts: {worker['max_attempts']}; "
            f"not ready: {worker['not_ready']}.",
        ]

    def mark(ok: bool) -> str:
        return "met" if ok else "MISSED"

    lines += [
        "",
        "## Against the targets",
        "",
        f"- p50 <= 50 ms (render loop): {single['p50']:.1f} ms, {mark(single['p50'] <= 50)}",
        f"- >= 20 certificates/s per process (render loop): {single['per_s']:.1f}/s, "
        f"{mark(single['per_s'] >= 20)}",
    ]
    if worker:
        peak = worker["peak"]
        lines += [
            f"- >= 20 certificates/s per worker process (full task path): {worker['per_s']:.1f}/s, "
            f"{mark(worker['per_s'] >= 20)}",
            f"- worker with Chromium <= 600 MB: PSS {peak['pss_mb']:.0f} MB {mark(peak['pss_mb'] <= 600)}, "
            f"RSS sum {peak['rss_mb']:.0f} MB {mark(peak['rss_mb'] <= 600)}",
        ]
    lines += [
        "",
        "RSS sums count pages shared between Chromium's processes several times; PSS counts them once "
        "and is the better measure of what the worker costs the machine.",
        "",
    ]
    text = "\n".join(lines)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    return text


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--processes", default="1,2", help="1, or 1,2 to add a two-process run")
    parser.add_argument("--worker-count", type=int, default=200)
    parser.add_argument("--no-worker", action="store_true")
    args = parser.parse_args(argv)
    from common.certificates.renderer import find_chromium

    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    chromium = find_chromium(os.environ.get("CHROMIUM_PATH", ""))
    version = (
        subprocess.run([chromium, "--version"], capture_output=True, text=True).stdout.strip() or chromium
    )
    single = run_render(args.count, args.warmup, 1)
    print(
        f"in-process: {single['per_s']:.1f}/s p50 {single['p50']:.1f} ms p95 {single['p95']:.1f} ms "
        f"RSS {single['rss_mb']:.0f} MB PSS {single['pss_mb']:.0f} MB",
        flush=True,
    )
    multi = run_render(args.count, args.warmup, 2) if "2" in args.processes.split(",") else None
    if multi:
        print(f"two processes: {multi['per_s_total']:.1f}/s total", flush=True)
    worker = None if args.no_worker else run_worker(args.worker_count)
    if worker:
        print(
            f"worker: {worker['per_s']:.1f}/s peak RSS {worker['peak']['rss_mb']:.0f} MB "
            f"PSS {worker['peak']['pss_mb']:.0f} MB",
            flush=True,
        )
    print(write_report(single, multi, worker, version, load))


if __name__ == "__main__":
    main()
