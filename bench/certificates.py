"""Certificate rendering benchmark: PDFs per second, per-certificate latency and memory with a warm Chromium.

    python -m bench.certificates [--count 300] [--processes 1,2] [--worker-count 200] [--no-worker]
                                 [--profile]

Part 1 renders certificates in this process the way a worker does (template + QR code + Chromium print on
one reused page), single-threaded, after a warm-up; with --processes 1,2 it also runs that loop in two
processes at once (the 2-core machine's aggregate). Part 2 starts a real certificates worker (Celery,
started as the Procfile starts it) on a scratch PostgreSQL database and Redis. After one warm-up certificate
(the browser launch) the worker's consumer is paused, --worker-count certificates are issued through
`request_certificate` (rows + `certificates.render` messages), and the timed window runs from resuming
the consumer until all of them are `ready` in the database: the full task path (broker, DB, template,
QR, Chromium, storage write) with no producer competing for the 2 cores. Memory is read from /proc: the
RSS of the worker plus its descendants (Chromium's processes and Playwright's driver), and their PSS,
which counts shared pages once; idle (after the warm-up and after the run) and peak (sampled once a
second), with the PSS of each kind of process. --profile adds a second timed run under py-spy (wall
clock, idle included) and prints where the worker's main and render threads spend their time.
Writes bench/results/certificates.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import re
import shlex
import signal
import socket
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
PROFILE_RATE_HZ = 200
BENCH_REDIS = os.environ.get("BENCH_CERT_REDIS_URL", "redis://127.0.0.1:6379/12")


# -- /proc helpers ---------------------------------------------------------------------------------------

PAGE = os.sysconf("SC_PAGE_SIZE")
PRESENT, PFN_MASK = 1 << 63, (1 << 55) - 1


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
    """Memory (MB) of a process and all its descendants: distinct pages, RSS sum and PSS sum."""
    pids = [pid, *descendants(pid)]
    rss = sum(_kib(f"/proc/{p}/status", "VmRSS") for p in pids)
    pss = sum(_kib(f"/proc/{p}/smaps_rollup", "Pss") for p in pids)
    own = _kib(f"/proc/{pid}/status", "VmRSS")
    return {
        "processes": len(pids),
        "unique_mb": tree_unique_mb(pid),
        "rss_mb": rss / 1024,
        "pss_mb": pss / 1024,
        "python_rss_mb": own / 1024,
    }


def process_kind(pid: int) -> str:
    """What a worker descendant is: python, node (Playwright's driver), browser, renderer, gpu, utility/..."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").split()
    except OSError:
        return "gone"
    if not args:
        return "gone"
    kind = next((a.split("=", 1)[1] for a in args if a.startswith("--type=")), "")
    if kind == "utility":
        sub = next((a.split("=", 1)[1] for a in args if a.startswith("--utility-sub-type=")), "")
        return "utility/" + sub.rsplit(".", 1)[-1]
    if kind == "renderer" and "--top-chrome-webui" in args:
        return "renderer (browser UI)"
    if kind:
        return kind
    name = Path(args[0]).name
    return {"chromium": "browser", "chrome": "browser", "headless_shell": "browser"}.get(name, name)


def memory_by_kind(pid: int) -> dict[str, float]:
    """PSS (MB) of the process tree grouped by process kind, e.g. {"renderer": 40.1, "zygote": 21.0}."""
    kinds: dict[str, float] = {}
    for p in [pid, *descendants(pid)]:
        kind = process_kind(p)
        kind = "python" if p == pid else kind
        kinds[kind] = kinds.get(kind, 0.0) + _kib(f"/proc/{p}/smaps_rollup", "Pss") / 1024
    return kinds


def tree_unique_mb(pid: int) -> float:
    """MB of distinct physical pages mapped by the process and its descendants (from /proc/PID/pagemap).

    What the tree costs the machine whatever else runs: unlike PSS and USS it does not change when other
    processes (another Chromium, another Python) share the same library pages. Needs root (page frame
    numbers read as zero otherwise, and this returns 0).
    """
    entries: set[int] = set()
    for p in [pid, *descendants(pid)]:
        try:
            smaps = Path(f"/proc/{p}/smaps").read_text().splitlines()
            fd = os.open(f"/proc/{p}/pagemap", os.O_RDONLY)
        except OSError:
            continue
        try:
            start = end = 0
            for line in smaps:
                if "-" in line.split(" ", 1)[0]:  # a mapping's header line: "start-end perms ..."
                    start, end = (int(x, 16) for x in line.split(" ", 1)[0].split("-"))
                elif line.startswith("Rss:") and line.split()[1] != "0":  # skip untouched reservations
                    entries.update(
                        memoryview(os.pread(fd, (end - start) // PAGE * 8, start // PAGE * 8)).cast("Q")
                    )
        except OSError:
            pass
        finally:
            os.close(fd)
    frames = {e & PFN_MASK for e in entries if e & PRESENT}
    frames.discard(0)
    return len(frames) * PAGE / 2**20


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


def procfile_command(process: str, name: str) -> list[str]:
    """The Procfile's command for `process` (so the benchmark runs the worker as deployed), with this
    interpreter's celery, quiet logging and the given node name; ${VAR:-default} resolved from os.environ."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(process + ":"):
            command = line.split(":", 1)[1]
            break
    else:
        raise RuntimeError(f"no {process!r} line in the Procfile")
    command = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: os.environ.get(m[1]) or m[2], command)
    args = shlex.split(command)
    if args[0] != "celery":
        raise RuntimeError(f"the Procfile's {process!r} line does not start with celery")
    args = [sys.executable, "-m", "celery", *args[1:]]
    args = [a for a in args if not a.startswith("--loglevel")] + ["--loglevel=WARNING"]
    if "-n" in args:
        args[args.index("-n") + 1] = name
    else:
        args += ["-n", name]
    return args


def run_worker(count: int, profile: bool = False) -> dict:
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
    runs = 2 if profile else 1
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
                for i in range(runs * count + 1)
            ]
        )
        db.session.commit()
        learners = list(
            db.session.execute(select(User.id).where(User.role == "student").order_by(User.id)).scalars()
        )
        name = f"bench-certificates@{socket.gethostname()}"
        control = app.extensions["celery"].control
        worker = subprocess.Popen(
            procfile_command("certificates", name),
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

            def check_alive(deadline: float) -> None:
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("worker failed: " + worker.stderr.read().decode()[-2000:])

            def settle() -> dict:
                time.sleep(3)  # let Chromium finish its post-load work before reading memory
                return {**tree_memory_mb(worker.pid), "kinds": memory_by_kind(worker.pid)}

            # Warm-up: the worker's first certificate launches its browser.
            t0 = time.perf_counter()
            service.request_certificate(user_id=learners[0], course_id=course.id)
            deadline = time.monotonic() + 120
            while ready() < 1:
                check_alive(deadline)
                time.sleep(0.02)
            first_s = time.perf_counter() - t0
            idle = settle()

            def timed_run(users: list[int], done_before: int, sampler=None) -> tuple[float, dict]:
                # Paused consumer: the messages queue up while this process issues the certificates, so
                # the timed window is the worker's alone.
                control.cancel_consumer("certificates", destination=[name], reply=True, timeout=10)
                for user_id in users:
                    service.request_certificate(user_id=user_id, course_id=course.id)
                db.session.rollback()
                spy = sampler() if sampler else None
                start = time.perf_counter()
                control.add_consumer("certificates", destination=[name], reply=True, timeout=10)
                # Sample gently: reading every process's smaps and polling the database steal CPU from
                # the worker on a 2-core machine, so memory is read every 2 s and the count 5 times a
                # second.
                peak, last_sample, done = idle, time.monotonic(), done_before
                deadline = time.monotonic() + 600
                while done < done_before + len(users):
                    check_alive(deadline)
                    if time.monotonic() - last_sample >= 2:
                        sample, last_sample = tree_memory_mb(worker.pid), time.monotonic()
                        if sample["unique_mb"] > peak["unique_mb"]:
                            peak = {**sample, "kinds": memory_by_kind(worker.pid)}
                    time.sleep(0.2)
                    done = ready()
                wall = time.perf_counter() - start
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    spy.wait(timeout=60)
                return wall, peak

            wall, peak = timed_run(learners[1 : count + 1], 1)
            idle_after = settle()
            profile_text = ""
            if profile:
                out = Path(work) / "py-spy.txt"

                def sampler():
                    return subprocess.Popen(
                        [
                            "py-spy",
                            "record",
                            "--pid",
                            str(worker.pid),
                            "--idle",
                            "--threads",
                            "--rate",
                            str(PROFILE_RATE_HZ),
                            "--format",
                            "raw",
                            "--output",
                            str(out),
                            "--nonblocking",
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )

                profiled_wall, _ = timed_run(learners[count + 1 :], count + 1, sampler)
                profile_text = summarize_profile(out, count, profiled_wall)
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
        "idle_after": idle_after,
        "peak": peak,
        "max_attempts": stats[0],
        "not_ready": stats[1],
        "profile": profile_text,
    }


# Frames the profile summary reports, as (label, substring of the collapsed frame "function (file:line)").
PROFILE_FRAMES = (
    ("`certificates.render` task", "render (worker/tasks/certificates.py"),
    ("  render_certificate (service)", "render_certificate (common/certificates/service.py"),
    ("    certificate_html: template + QR", "certificate_html (common/certificates/renderer.py"),
    ("      qr_svg: QR code", "qr_svg (common/certificates/renderer.py"),
    ("    renderer.render_pdf (waits for the render thread)", "render_pdf (common/certificates/renderer.py"),
    ("    storage.put", "put (common/storage.py"),
    ("    session commits", "commit (sqlalchemy/orm/session.py"),
    ("    session.get", "get (sqlalchemy/orm/session.py"),
    ("  db.session.remove (end of task)", "remove (sqlalchemy/orm/scoping.py"),
    ("render thread, Python side of page.set_content", "Page.set_content (playwright/_impl/page.py"),
    ("render thread, Python side of page.pdf", "Page.pdf (playwright/_impl/page.py"),
)


def summarize_profile(path: Path, count: int, wall: float) -> str:
    """Milliseconds per certificate under each of PROFILE_FRAMES, from py-spy's raw (collapsed) output.

    Sampled with --idle, a thread has a sample at every tick whatever it does, so samples convert to
    milliseconds of that thread's clock; with two task threads their rows add up to more than the window.
    """
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return "py-spy produced no profile (is it installed, may it ptrace the worker?)"
    totals = {label: 0 for label, _ in PROFILE_FRAMES}
    for line in lines:
        stack, _, n = line.rpartition(" ")
        if n.isdigit():
            for label, needle in PROFILE_FRAMES:
                if needle in stack:
                    totals[label] += int(n)
    ms_per_sample = 1000 / PROFILE_RATE_HZ

    def row(label: str, ms: float) -> str:
        depth = len(label) - len(label.lstrip())
        return f"| {'&nbsp;' * depth}{label.strip()} | {ms:.1f} |"

    rows = ["| where (thread clock, idle included) | ms per certificate |", "|---|---|"]
    rows.append(row("the window (wall clock)", wall * 1000 / count))
    rows += [row(label, totals[label] * ms_per_sample / count) for label, _ in PROFILE_FRAMES]
    return "\n".join(rows)


# -- report ----------------------------------------------------------------------------------------------


def before_after(before: dict, single: dict, worker: dict | None) -> list[str]:
    """A table of the headline figures of an earlier run (`--save`d JSON) next to this run's."""
    rows = [
        ("render loop, certificates/s", before["single"]["per_s"], single["per_s"], ".1f"),
        ("render loop, p50 ms", before["single"]["p50"], single["p50"], ".1f"),
    ]
    old = before.get("worker")
    if old and worker:
        rows += [
            ("worker (full task path), certificates/s", old["per_s"], worker["per_s"], ".1f"),
            ("worker idle MB (distinct pages)", old["idle"]["unique_mb"], worker["idle"]["unique_mb"], ".0f"),
            ("worker peak MB (distinct pages)", old["peak"]["unique_mb"], worker["peak"]["unique_mb"], ".0f"),
            ("worker idle PSS MB", old["idle"]["pss_mb"], worker["idle"]["pss_mb"], ".0f"),
            ("worker peak PSS MB", old["peak"]["pss_mb"], worker["peak"]["pss_mb"], ".0f"),
            (
                "worker idle after the run PSS MB",
                old["idle_after"]["pss_mb"],
                worker["idle_after"]["pss_mb"],
                ".0f",
            ),
            ("worker processes (peak)", old["peak"]["processes"], worker["peak"]["processes"], "d"),
        ]
    return [
        "",
        f"## Before and after ({before.get('label', 'before')}, run {before.get('when', '?')})",
        "",
        "| figure | before | after |",
        "|---|---|---|",
        *[f"| {name} | {a:{fmt}} | {b:{fmt}} |" for name, a, b, fmt in rows],
    ]


def write_report(
    single: dict,
    multi: dict | None,
    worker: dict | None,
    chromium: str,
    load: str,
    before: dict | None = None,
) -> str:
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
        f"(Python {single['python_rss_mb']:.0f} MB), PSS {single['pss_mb']:.0f} MB.",
    ]
    if multi:
        lines += [
            "",
            f"Two processes rendering at once on the 2 cores: {multi['per_s_total']:.1f} certificates/s "
            f"in total, worst p50 {multi['p50']:.1f} ms, worst p95 {multi['p95']:.1f} ms, "
            f"per-process RSS sum {multi['rss_mb']:.0f} MB / PSS {multi['pss_mb']:.0f} MB.",
        ]
    if worker:
        peak, idle, after = worker["peak"], worker["idle"], worker["idle_after"]

        def mem(m: dict) -> str:
            return f"{m['unique_mb']:.0f} / {m['pss_mb']:.0f}"

        kinds = sorted(set(idle["kinds"]) | set(peak.get("kinds", {})) | set(after["kinds"]))
        lines += [
            "",
            "## A real certificates worker (Celery started as the Procfile does, Redis, PostgreSQL, storage)",
            "",
            "| certificates | per second | first (browser launch) s | idle MB, distinct / PSS "
            "| peak MB, distinct / PSS | idle after the run MB, distinct / PSS | processes |",
            "|---|---|---|---|---|---|---|",
            f"| {worker['count']} | {worker['per_s']:.1f} | {worker['first_s']:.2f} | {mem(idle)} "
            f"| {mem(peak)} | {mem(after)} | {peak['processes']} |",
            "",
            "Each certificate: issued by `request_certificate` while the worker's consumer is paused, then "
            "claimed by the worker, rendered, written to storage and its row marked ready; the window runs "
            "from resuming the consumer to the last ready row. "
            f"Max render attempts: {worker['max_attempts']}; not ready: {worker['not_ready']}.",
            "",
            "PSS by process kind (MB; `python` is the Celery worker itself, `node` Playwright's driver, "
            "`browser` Chromium's main process):",
            "",
            "| process | idle | peak | idle after the run |",
            "|---|---|---|---|",
            *[
                f"| {kind} | {idle['kinds'].get(kind, 0):.0f} | {peak.get('kinds', {}).get(kind, 0):.0f} | "
                f"{after['kinds'].get(kind, 0):.0f} |"
                for kind in kinds
            ],
        ]
        if worker.get("profile"):
            lines += [
                "",
                f"Profile of a second run of {worker['count']} certificates under py-spy (200 Hz, "
                "each thread's clock; a frame counts for the time spent in it and below it):",
                "",
                worker["profile"],
            ]

    if before:
        lines += before_after(before, single, worker)

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
            f"- worker with Chromium <= 600 MB at its peak: {peak['unique_mb']:.0f} MB of distinct pages "
            f"{mark(peak['unique_mb'] <= 600)}, PSS {peak['pss_mb']:.0f} MB {mark(peak['pss_mb'] <= 600)} "
            f"(RSS sum {peak['rss_mb']:.0f} MB)",
        ]
    lines += [
        "",
        "Distinct pages: every physical page the worker's process tree maps, counted once (from "
        "/proc/PID/pagemap): what the tree costs the machine, whatever else runs. PSS splits each shared "
        "page between all the processes that map it, also processes outside the tree (another Chromium "
        "run by tests beside the benchmark), so it reads lower on a busy machine; RSS sums count pages "
        "shared between Chromium's processes several times.",
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
    parser.add_argument("--profile", action="store_true", help="add a run of the worker under py-spy")
    parser.add_argument("--save", metavar="JSON", help="also write this run's figures to JSON")
    parser.add_argument("--before", metavar="JSON", help="compare with a run saved by --save")
    parser.add_argument("--label", default="", help="name of this run in the saved JSON")
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
    worker = None if args.no_worker else run_worker(args.worker_count, args.profile)
    if worker:
        print(
            f"worker: {worker['per_s']:.1f}/s peak RSS {worker['peak']['rss_mb']:.0f} MB "
            f"PSS {worker['peak']['pss_mb']:.0f} MB",
            flush=True,
        )
    before = json.loads(Path(args.before).read_text()) if args.before else None
    if args.save:
        when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        saved = {"label": args.label, "when": when, "single": single, "multi": multi, "worker": worker}
        Path(args.save).write_text(json.dumps(saved, indent=1, default=str))
    print(write_report(single, multi, worker, version, load, before))


if __name__ == "__main__":
    main()
