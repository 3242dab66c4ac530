"""Soak: 200 simulated students against the real stack for SOAK_SECONDS, then checks and RELIABILITY.md.

    SOAK_SECONDS=300 SOAK_STUDENTS=200 python -m bench.soak      (or `make soak`)

Everything is private and on loopback: a PostgreSQL database of its own (SOAK_DATABASE, default
coursehub_soak, created and dropped here), a redis-server it starts on a free port (never the shared
one), the Razorpay stand-in in this process, and the Procfile's web (gunicorn), worker
(default,payments,reports) and certificates processes under honcho. Students browse the catalogue, buy
courses (Checkout through the stand-in, each webhook delivered 3 times, some concurrently), enroll in free
ones, complete lessons, answer quizzes, post in the forum and read the leaderboard while an admin exports
reports. Afterwards: zero 5xx, every acknowledged write found in PostgreSQL, no duplicate enrollment,
payment, certificate, lesson completion or XP award, no pool exhaustion in the logs, RSS of web and
workers first vs last minute. Exits non-zero on any failure.
"""

from __future__ import annotations

import collections
import functools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import requests

from bench.certificates import descendants

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("SOAK_PG", "postgresql://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("SOAK_DATABASE", "coursehub_soak")
SECONDS = min(3600, int(os.environ.get("SOAK_SECONDS", "300")))
STUDENTS = int(os.environ.get("SOAK_STUDENTS", "200"))
RSS_GROWTH_LIMIT = float(os.environ.get("SOAK_RSS_GROWTH_LIMIT", "1.25"))  # last minute / first minute
FREE_COURSES, PAID_COURSES, MODULES, LESSONS = 6, 6, 2, 3
KEY_ID, KEY_SECRET, WEBHOOK_SECRET = "rzp_test_soak", "soak-key-secret", "soak-webhook-secret"
# What a student does next, and how often (weights).
ACTIONS = {
    "browse": 30,
    "course": 10,
    "leaderboard": 12,
    "buy": 6,
    "enroll": 4,
    "lesson": 20,
    "quiz": 10,
    "post": 4,
    "forum": 4,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listening on {port} after {timeout}s")


def stack_env(dsn: str, redis_url: str, razorpay_url: str, instance: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "COV_", "PYTEST"))}
    env.update(
        DATABASE_URL=dsn,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        FLASK_APP="web.app:create_app",
        APP_ENV="bench",
        INSTANCE_DIR=str(instance),
        STORAGE_DIR=str(instance / "storage"),
        SECRET_KEY="soak-secret-key-0123456789abcdef0123456789",
        JWT_SECRET_KEY="soak-jwt-secret-0123456789abcdef0123456789",
        JWT_ACCESS_TOKEN_SECONDS="7200",
        # Every simulated student comes from 127.0.0.1: the per-client limits would throttle the lot.
        RATELIMIT_DEFAULT="100000000 per minute",
        RATELIMIT_AUTH="100000000 per minute",
        RATELIMIT_PAYMENTS="100000000 per minute",
        RATELIMIT_FORUM_POST="100000000 per minute",
        RAZORPAY_API_BASE=razorpay_url,
        RAZORPAY_KEY_ID=KEY_ID,
        RAZORPAY_KEY_SECRET=KEY_SECRET,
        RAZORPAY_WEBHOOK_SECRET=WEBHOOK_SECRET,
        PYTHONUNBUFFERED="1",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )  # gunicorn, celery
    return env


SEED = r"""
import json, sys
from web.app import create_app
from common.accounts.models import User
from common.accounts.passwords import hash_password
from common.accounts.tokens import issue_tokens
from common.catalog.models import Course, Lesson, Module
from common.db import db
from common.quizzes.models import Quiz
free, paid, modules, lessons, students = map(int, sys.argv[1:6])
app = create_app(); app.app_context().push()
pw = hash_password("soak password 123")
instructor = User(email="soak-instructor@example.com", name="Soak Instructor", role="instructor",
                  password_hash=pw)
admin = User(email="soak-admin@example.com", name="Soak Admin", role="admin", password_hash=pw)
db.session.add_all([instructor, admin]); db.session.flush()
courses = []
for n in range(free + paid):
    price = 0 if n < free else 19900 + 100 * n
    course = Course(instructor_id=instructor.id, title=f"Soak course {n}",
                    description=f"Soak course number {n}", domain=["web-development", "data-science"][n % 2],
                    price=price, currency="INR", status="approved")
    db.session.add(course); db.session.flush()
    outline = {"id": course.id, "price": price, "lessons": [], "quizzes": []}
    for m in range(modules):
        module = Module(course_id=course.id, title=f"Module {m}", position=m)
        db.session.add(module); db.session.flush()
        for i in range(lessons):
            lesson = Lesson(module_id=module.id, course_id=course.id, title=f"Lesson {m}.{i}", position=i,
                            video_url=f"https://video.example.com/{course.id}/{m}/{i}.mp4")
            db.session.add(lesson); db.session.flush(); outline["lessons"].append(lesson.id)
        quiz = Quiz(module_id=module.id, course_id=course.id, question="Soak?",
                    options=["yes", "no", "maybe"], correct_option=0, position=0)
        db.session.add(quiz); db.session.flush(); outline["quizzes"].append(quiz.id)
    courses.append(outline)
users = [User(email=f"soak-student-{n}@example.com", name=f"Soak Student {n}", role="student",
              password_hash=pw) for n in range(students)]
db.session.add_all(users); db.session.commit()
print(json.dumps({"courses": courses, "admin": issue_tokens(admin)["access_token"],
                  "students": [[u.id, issue_tokens(u)["access_token"]] for u in users]}))
"""


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.by_status: collections.Counter = collections.Counter()
        self.by_action: collections.Counter = collections.Counter()
        self.by_action_status: collections.Counter = collections.Counter()
        self.errors: list[str] = []  # 5xx and transport errors, with the route
        self.acked = collections.defaultdict(
            set
        )  # what the API said it did: checked in PostgreSQL afterwards

    def record(self, action: str, method: str, path: str, status: int | None) -> None:
        with self.lock:
            self.requests += 1
            self.by_action[action] += 1
            self.by_action_status[(action, status)] += 1
            self.by_status[status if status is not None else "transport error"] += 1
            if status is None or status >= 500:
                if len(self.errors) < 50:
                    self.errors.append(f"{status} {method} {path}")

    def ack(self, kind: str, value) -> None:
        with self.lock:
            self.acked[kind].add(value)


class Student:
    def __init__(
        self, user_id: int, token: str, base: str, courses: list[dict], stats: Stats, razorpay
    ) -> None:
        self.user_id, self.base, self.courses, self.stats, self.razorpay = (
            user_id,
            base,
            courses,
            stats,
            razorpay,
        )
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.enrolled: dict[int, dict] = {}
        self.done: set[int] = (
            set()
        )  # lessons completed and quizzes passed: students work towards certificates
        self.rng = random.Random(user_id)

    def call(self, action: str, method: str, path: str, anonymous: bool = False, **kwargs):
        try:  # Razorpay's webhooks carry no user token, and come on connections of their own
            sender = requests.request if anonymous else self.http.request
            response = sender(method, self.base + path, timeout=120, **kwargs)
        except requests.RequestException:
            self.stats.record(action, method, path, None)
            return None
        self.stats.record(action, method, path, response.status_code)
        return response

    def run(self, deadline: float) -> None:
        names, weights = list(ACTIONS), list(ACTIONS.values())
        while time.monotonic() < deadline:
            getattr(self, "do_" + self.rng.choices(names, weights)[0])()
            time.sleep(self.rng.uniform(0.05, 0.3))  # think time

    def do_browse(self) -> None:
        params = self.rng.choice(
            [{}, {"sort": "popular"}, {"domain": "data-science"}, {"q": "soak"}, {"sort": "price"}]
        )
        self.call("browse", "GET", "/api/courses", params=params)

    def do_course(self) -> None:
        self.call("course", "GET", f"/api/courses/{self.rng.choice(self.courses)['id']}")

    def do_leaderboard(self) -> None:
        self.call(
            "leaderboard",
            "GET",
            "/api/leaderboard",
            params={"period": self.rng.choice(["weekly", "monthly"])},
        )

    def _not_enrolled(self, paid: bool) -> dict | None:
        options = [c for c in self.courses if (c["price"] > 0) == paid and c["id"] not in self.enrolled]
        return self.rng.choice(options) if options else None

    def do_enroll(self) -> None:
        course = self._not_enrolled(paid=False)
        if course is None:
            return self.do_lesson()
        response = self.call("enroll", "POST", f"/api/courses/{course['id']}/enroll")
        if response is not None and response.status_code == 201:
            self.enrolled[course["id"]] = course
            self.stats.ack("enrollment", (self.user_id, course["id"]))

    def do_buy(self) -> None:
        course = self._not_enrolled(paid=True)
        if course is None:
            return self.do_lesson()
        response = self.call("buy", "POST", "/api/payments/order", json={"course_id": course["id"]})
        if response is None or response.status_code != 201:
            return
        order_id = response.json()["order_id"]
        checkout = self.razorpay.state.checkout(order_id)  # the browser's Checkout, played by the stand-in
        response = self.call("buy", "POST", "/api/payments/verify", json=checkout)
        if response is None or response.status_code not in (200, 201, 202):
            return
        self.stats.ack("paid", checkout["razorpay_payment_id"])
        self.stats.ack("enrollment", (self.user_id, course["id"]))
        self.enrolled[course["id"]] = course
        for event in ("payment.captured", "order.paid"):  # Razorpay retries: each event 3 times
            body, headers = self.razorpay.state.signed_request(
                self.razorpay.state.build_event(event, payment_id=checkout["razorpay_payment_id"])
            )
            send = functools.partial(
                self.call,
                "webhook",
                "POST",
                "/api/payments/webhook",
                data=body,
                headers=headers,
                anonymous=True,
            )
            if self.rng.random() < 0.5:  # concurrently
                threads = [threading.Thread(target=send) for _ in range(3)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            else:
                for _ in range(3):
                    send()

    def _course(self) -> dict | None:
        return self.enrolled[self.rng.choice(list(self.enrolled))] if self.enrolled else None

    def do_lesson(self) -> None:
        course = self._course()
        if course is None:
            return self.do_enroll() if self.rng.random() < 0.5 else self.do_browse()
        todo = [lesson for lesson in course["lessons"] if lesson not in self.done]
        lesson = todo[0] if todo and self.rng.random() < 0.8 else self.rng.choice(course["lessons"])
        response = self.call("lesson", "POST", f"/api/lessons/{lesson}/complete")
        if response is not None and response.status_code in (200, 201):
            self.stats.ack("lesson", (self.user_id, lesson))
            self.done.add(lesson)

    def do_quiz(self) -> None:
        course = self._course()
        if course is None:
            return self.do_browse()
        todo = [quiz for quiz in course["quizzes"] if quiz not in self.done]
        quiz = todo[0] if todo else self.rng.choice(course["quizzes"])
        response = self.call(
            "quiz",
            "POST",
            f"/api/quizzes/{quiz}/attempts",
            json={"selected_option": self.rng.choice([0, 0, 0, 1, 2])},
        )
        if response is not None and response.status_code in (200, 201):
            self.stats.ack("quiz_result", response.json()["id"])
            if response.json()["is_correct"]:
                self.done.add(quiz)

    def do_post(self) -> None:
        course = self._course()
        if course is None:
            return self.do_browse()
        response = self.call(
            "post",
            "POST",
            f"/api/courses/{course['id']}/posts",
            json={"title": f"Question from {self.user_id}", "body": "How does this work? " * 3},
        )
        if response is not None and response.status_code == 201:
            self.stats.ack("post", response.json()["id"])

    def do_forum(self) -> None:
        course = self._course()
        if course is None:
            return self.do_leaderboard()
        self.call("forum", "GET", f"/api/courses/{course['id']}/posts", params={"sort": "newest"})


def admin_loop(base: str, token: str, stats: Stats, deadline: float) -> None:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    kinds = ["enrollments", "payments", "users", "courses"]
    n = 0
    while time.monotonic() < deadline:
        body = {"type": kinds[n % 4], "format": "csv" if n % 2 else "xlsx"}
        n += 1
        try:
            response = http.post(base + "/api/admin/reports", json=body, timeout=120)
            stats.record("report", "POST", "/api/admin/reports", response.status_code)
            if response.status_code == 202:
                stats.ack("report_job", response.json()["job_id"])
            response = http.get(base + "/api/admin/stats", timeout=120)
            stats.record("report", "GET", "/api/admin/stats", response.status_code)
        except requests.RequestException:
            stats.record("report", "POST", "/api/admin/reports", None)
        time.sleep(5)


def memory_of(pids: list[int]) -> tuple[int, int]:
    """(RSS, PSS) of the processes in bytes. PSS splits shared pages between their users: Chromium's
    processes share most of theirs, so summing their RSS counts the same pages several times."""
    rss = pss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except OSError:
            pass
    return rss, pss


def classify(root: int) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {"web": [], "worker": [], "certificates": []}
    for pid in descendants(root):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "gunicorn" in cmd and not cmd.startswith("/bin/sh"):
            groups["web"].append(pid)
        elif "celery" in cmd and "-Q certificates" in cmd and not cmd.startswith("/bin/sh"):
            groups["certificates"].append(pid)
        elif "celery" in cmd and "-Q default" in cmd and not cmd.startswith("/bin/sh"):
            groups["worker"].append(pid)
        elif "chrom" in cmd.split(" ")[0]:
            groups["certificates"].append(pid)
            groups.setdefault("chromium", []).append(pid)
    return groups


def sample_memory(root: int, samples: list, stop: threading.Event, started: float) -> None:
    while not stop.wait(5):
        groups = classify(root)
        samples.append(
            (
                time.monotonic() - started,
                {name: memory_of(pids) for name, pids in groups.items() if name != "chromium"},
                bool(groups.get("chromium")),
            )
        )


DUPLICATES = {
    "enrollment": "SELECT user_id, course_id FROM enrollments GROUP BY user_id, course_id "
    "HAVING count(*) > 1",
    "payment (razorpay id)": "SELECT payment_id FROM payments WHERE payment_id IS NOT NULL "
    "GROUP BY payment_id HAVING count(*) > 1",
    "payment (user, course paid)": "SELECT user_id, course_id FROM payments WHERE status = 'paid' "
    "GROUP BY user_id, course_id HAVING count(*) > 1",
    "certificate": "SELECT user_id, course_id FROM certificates GROUP BY user_id, course_id "
    "HAVING count(*) > 1",
    "lesson completion": "SELECT user_id, lesson_id FROM lesson_progress GROUP BY user_id, lesson_id "
    "HAVING count(*) > 1",
    "XP award": "SELECT user_id, type, source_id FROM xp_events GROUP BY user_id, type, source_id "
    "HAVING count(*) > 1",
}


def check_database(dsn: str, stats: Stats) -> tuple[dict, dict, dict]:
    """(missing acknowledged writes by kind, duplicates by kind, other figures)."""
    missing: dict[str, int] = {}
    with psycopg.connect(dsn) as conn:
        # Fulfilment, certificates and reports run in workers: give them time to drain.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            busy = conn.execute("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')").fetchone()[
                0
            ]
            pending = conn.execute("SELECT count(*) FROM certificates WHERE status = 'pending'").fetchone()[0]
            conn.commit()
            if busy == 0 and pending == 0:
                break
            time.sleep(2)
        paid = {r[0] for r in conn.execute("SELECT payment_id FROM payments WHERE status = 'paid'")}
        missing["paid"] = len(stats.acked["paid"] - paid)
        enrolled = {tuple(r) for r in conn.execute("SELECT user_id, course_id FROM enrollments")}
        missing["enrollment"] = len(stats.acked["enrollment"] - enrolled)
        done = {tuple(r) for r in conn.execute("SELECT user_id, lesson_id FROM lesson_progress")}
        missing["lesson"] = len(stats.acked["lesson"] - done)
        results = {r[0] for r in conn.execute("SELECT id FROM quiz_results")}
        missing["quiz_result"] = len(stats.acked["quiz_result"] - results)
        posts = {r[0] for r in conn.execute("SELECT id FROM posts")}
        missing["post"] = len(stats.acked["post"] - posts)
        reports = {r[0] for r in conn.execute("SELECT id FROM jobs WHERE status = 'succeeded'")}
        missing["report_job (succeeded)"] = len(
            {str(j) for j in stats.acked["report_job"]} - {str(r) for r in reports}
        )
        duplicates = {kind: len(conn.execute(sql).fetchall()) for kind, sql in DUPLICATES.items()}
        figures = {
            "certificates": dict(
                conn.execute("SELECT status, count(*) FROM certificates GROUP BY status").fetchall()
            ),
            "jobs": dict(conn.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall()),
            "webhook events": conn.execute("SELECT count(*) FROM webhook_events").fetchone()[0],
            "xp events": conn.execute("SELECT count(*) FROM xp_events").fetchone()[0],
        }
    return missing, duplicates, figures


def memory_windows(samples: list, length: float) -> dict[str, tuple]:
    """name -> (first-minute mean RSS, PSS, last-minute mean RSS, PSS, where the first minute starts).

    The certificates worker's first minute starts with its first sample with Chromium running (it
    launches the browser at its first render): before that there is no browser to compare with."""
    out = {}
    names = samples[0][1].keys() if samples else []
    for name in names:
        start = 0.0
        if name == "certificates":
            start = next((t for t, _, up in samples if up), 0.0)
        first = [s[name] for t, s, _ in samples if start <= t <= start + 60]
        last = [s[name] for t, s, _ in samples if t >= length - 60]
        if first and last:
            mean = lambda rows, i: sum(r[i] for r in rows) / len(rows)  # noqa: E731
            out[name] = (mean(first, 0), mean(first, 1), mean(last, 0), mean(last, 1), start)
    return out


def write_report(
    path: Path,
    *,
    seconds: float,
    stats: Stats,
    missing: dict,
    duplicates: dict,
    figures: dict,
    pool_lines: list[str],
    memory: dict,
    failures: list[str],
) -> None:
    mb = lambda b: f"{b / 2**20:.0f} MB"  # noqa: E731
    lines = [
        "# Reliability — soak results",
        "",
        f"Generated by `make soak` (bench/soak.py) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: "
        f"{STUDENTS} concurrent simulated students for {seconds:.0f} s against gunicorn (Procfile settings), "
        "a Celery worker (default, payments, reports), a certificates worker, a private redis-server, "
        "PostgreSQL (own database, dropped afterwards) and the Razorpay stand-in, all on loopback. "
        "Each webhook is delivered 3 times (half of them concurrently); an admin exports reports throughout.",
        "",
        f"**Result: {'PASS' if not failures else 'FAIL'}**"
        + ("" if not failures else " — " + "; ".join(failures)),
        "",
        "## Requests",
        "",
        f"{stats.requests} requests ({stats.requests / seconds:.0f}/s).",
        "",
        "| status | count |",
        "|---|---|",
        *[
            f"| {status} | {count} |"
            for status, count in sorted(stats.by_status.items(), key=lambda i: str(i[0]))
        ],
        "",
        "| action | requests | by status |",
        "|---|---|---|",
        *[
            f"| {action} | {count} | "
            + ", ".join(
                f"{st}: {n}"
                for (a, st), n in sorted(stats.by_action_status.items(), key=lambda i: str(i[0][1]))
                if a == action
            )
            + " |"
            for action, count in stats.by_action.most_common()
        ],
        "",
        "## Acknowledged writes checked in PostgreSQL",
        "",
        "| kind | acknowledged | missing |",
        "|---|---|---|",
        *[f"| {kind} | {len(stats.acked[kind.split(' ')[0]])} | {n} |" for kind, n in missing.items()],
        "",
        "## Duplicates (GROUP BY … HAVING count(*) > 1)",
        "",
        "| what | duplicate groups |",
        "|---|---|",
        *[f"| {kind} | {n} |" for kind, n in duplicates.items()],
        "",
        f"Other figures: {json.dumps(figures, default=str)}.",
        "",
        "## Pool exhaustion",
        "",
        f"Log lines matching QueuePool / TimeoutError: {len(pool_lines)}.",
        *[f"    {line}" for line in pool_lines[:10]],
        "",
        "## Memory (process tree, mean of 5 s samples)",
        "",
        "| process | first minute RSS | last minute RSS | RSS ratio | first minute PSS | last minute PSS "
        "| PSS ratio |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| {name}{'' if not start else f' (from {start:.0f} s)'} | {mb(r1)} | {mb(r2)} "
            f"| {r2 / r1:.2f} | {mb(p1)} | {mb(p2)} | {p2 / p1:.2f} |"
            for name, (r1, p1, r2, p2, start) in memory.items()
            if r1 and p1
        ],
        "",
        f"Limit: last/first PSS ≤ {RSS_GROWTH_LIMIT} (SOAK_RSS_GROWTH_LIMIT). The certificates worker's tree "
        "includes its Chromium; its first minute starts when the browser is first up (its first render). "
        "PSS is the judged figure because summed RSS counts the pages Chromium's processes share once "
        "per process.",
    ]
    if stats.errors:
        lines += ["", "## Errors (first 50)", "", *[f"- {e}" for e in stats.errors]]
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    import logging

    from standins.razorpay import start_in_thread

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the stand-in's access log

    dsn = f"{PG}/{DATABASE}"
    workdir = Path(tempfile.mkdtemp(prefix="coursehub-soak-"))
    redis_port, web_port = free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    redis = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    razorpay = start_in_thread(key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET)
    stack = None
    log_path = workdir / "stack.log"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    try:
        wait_port(redis_port)
        env = stack_env(dsn, redis_url, razorpay.url, workdir / "instance")
        subprocess.run(
            [sys.executable, "-m", "flask", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                SEED,
                str(FREE_COURSES),
                str(PAID_COURSES),
                str(MODULES),
                str(LESSONS),
                str(STUDENTS),
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        seed = json.loads(out.stdout.strip().splitlines()[-1])
        stack = subprocess.Popen(
            [
                shutil.which("honcho", path=env["PATH"]),
                "start",
                "-p",
                str(web_port),
                "web",
                "worker",
                "certificates",
            ],
            cwd=ROOT,
            env=env,
            stdout=log_path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_port(web_port)
        base = f"http://127.0.0.1:{web_port}"
        for _ in range(100):
            try:
                if requests.get(base + "/api/health/ready", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        print(f"soak: {STUDENTS} students for {SECONDS}s against {base} (logs: {log_path})", flush=True)
        stats, samples, stop = Stats(), [], threading.Event()
        started = time.monotonic()
        deadline = started + SECONDS
        sampler = threading.Thread(
            target=sample_memory, args=(stack.pid, samples, stop, started), daemon=True
        )
        sampler.start()
        students = [
            Student(uid, token, base, seed["courses"], stats, razorpay) for uid, token in seed["students"]
        ]
        threads = [threading.Thread(target=s.run, args=(deadline,), daemon=True) for s in students]
        threads.append(
            threading.Thread(target=admin_loop, args=(base, seed["admin"], stats, deadline), daemon=True)
        )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(1, deadline - time.monotonic() + 180))
        elapsed = time.monotonic() - started
        stop.set()
        print(f"soak: {stats.requests} requests in {elapsed:.0f}s; checking the database", flush=True)
        missing, duplicates, figures = check_database(dsn, stats)
        log_text = log_path.read_text(errors="replace")
        pool_lines = [line for line in log_text.splitlines() if "QueuePool" in line or "TimeoutError" in line]
        memory = memory_windows(samples, elapsed)
        failures = []
        fivexx = sum(
            n for status, n in stats.by_status.items() if not isinstance(status, int) or status >= 500
        )
        if fivexx:
            failures.append(f"{fivexx} 5xx/transport errors")
        if any(missing.values()):
            failures.append(f"missing acknowledged writes {missing}")
        if any(duplicates.values()):
            failures.append(f"duplicates {duplicates}")
        if pool_lines:
            failures.append(f"{len(pool_lines)} pool-exhaustion log lines")
        for name, (_, p1, _, p2, _) in memory.items():
            if p1 and p2 / p1 > RSS_GROWTH_LIMIT:
                failures.append(f"{name} memory (PSS) grew {p2 / p1:.2f}x")
        if any(thread.is_alive() for thread in threads):
            failures.append("simulated students still running after the deadline")
        write_report(
            ROOT / "RELIABILITY.md",
            seconds=elapsed,
            stats=stats,
            missing=missing,
            duplicates=duplicates,
            figures=figures,
            pool_lines=pool_lines,
            memory=memory,
            failures=failures,
        )
        print((ROOT / "RELIABILITY.md").read_text())
        return 1 if failures else 0
    finally:
        if stack is not None and stack.poll() is None:
            os.killpg(stack.pid, signal.SIGTERM)
            try:
                stack.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(stack.pid, signal.SIGKILL)
        razorpay.stop()
        redis.terminate()
        redis.wait(timeout=10)
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        if os.environ.get("SOAK_KEEP_LOGS"):
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
