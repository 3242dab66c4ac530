"""The mixed student session: browse -> open a course -> complete lessons -> answer quizzes -> read the board.

Each simulated student is a thread with its own token and HTTP connection; every answer >= 400 is an
error except a quiz attempt refused because its attempts are used up (409, counted as a refusal).
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict

import requests


def _session(base: str, token: str, course: int, domain: str, lessons, quizzes, out: dict, lock) -> None:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    timings, errors, refused = [], [], 0

    def call(method: str, path: str, **kwargs):
        nonlocal refused
        started = time.perf_counter()
        try:
            response = http.request(method, base + path, timeout=10, **kwargs)
        except requests.RequestException as exc:
            errors.append(f"{method} {path}: {exc!r}")
            return None
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code == 409 and path.endswith("/attempts"):
            refused += 1
        elif response.status_code >= 400:
            errors.append(f"{method} {path}: HTTP {response.status_code}")
        return response

    call("GET", f"/api/courses?domain={domain}")
    call("GET", "/api/courses?q=python&sort=newest")
    call("GET", f"/api/courses/{course}")
    call("GET", f"/api/me/courses/{course}/progress")
    for lesson in lessons:
        call("POST", f"/api/lessons/{lesson}/complete")
    for quiz in quizzes:
        call("POST", f"/api/quizzes/{quiz}/attempts", json={"selected_option": random.choice([0, 1])})
    call("GET", "/api/me/enrollments")
    call("GET", "/api/leaderboard?period=weekly")
    call("GET", f"/api/leaderboard?period=weekly&domain={domain}")
    with lock:
        out["timings"] += timings
        out["errors"] += errors
        out["refused"] += refused


def run_sessions(base: str, data: dict, tokens: dict, students: int = 16, sessions: int = 3) -> dict:
    """`students` concurrent students, each running `sessions` sessions in one of their courses."""
    by_student = defaultdict(list)
    for user_id, course in data["enrolled"]:
        by_student[user_id].append(course)
    lessons_of, quizzes_of = defaultdict(list), defaultdict(list)
    for user_id, lesson in data["lessons"]:
        lessons_of[user_id].append(lesson)
    for user_id, quiz in data["quizzes"]:
        quizzes_of[user_id].append(quiz)
    out = {"timings": [], "errors": [], "refused": 0}
    lock = threading.Lock()
    chosen = [s for s in data["students"] if lessons_of[s]][:students]

    def student(user_id: int) -> None:
        for _ in range(sessions):
            _session(
                base,
                tokens[user_id],
                random.choice(by_student[user_id]),
                data["domain"],
                random.sample(lessons_of[user_id], min(3, len(lessons_of[user_id]))),
                random.sample(quizzes_of[user_id], min(2, len(quizzes_of[user_id]))),
                out,
                lock,
            )

    threads = [threading.Thread(target=student, args=(s,)) for s in chosen]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timings = sorted(out["timings"]) or [0.0]
    return {
        "students": len(chosen),
        "sessions": sessions,
        "requests": len(out["timings"]) + len([e for e in out["errors"] if "HTTP" not in e]),
        "errors": len(out["errors"]),
        "error_samples": out["errors"][:10],
        "refused": out["refused"],
        "p50_ms": round(timings[len(timings) // 2], 1),
        "p99_ms": round(timings[min(len(timings) - 1, int(len(timings) * 0.99))], 1),
    }
