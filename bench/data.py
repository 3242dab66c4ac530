"""Builds the 100k profile in a PostgreSQL database with set-based SQL (minutes, not hours).

100,000 users, 1,000 courses, 5,000 modules, 20,000 lessons, 200,000 enrollments,
2,000,000 lesson completions and 3,000,000 XP events, spread over the last 60 days.
"""

from __future__ import annotations

import argparse
import time

import psycopg

from common.accounts.passwords import hash_password

PROFILES = {
    "100k": dict(
        users=100_000,
        courses=1_000,
        modules_per_course=5,
        lessons_per_module=4,
        enrollments=200_000,
        completions=2_000_000,
        xp_events=3_000_000,
    ),
    "small": dict(
        users=2_000,
        courses=50,
        modules_per_course=3,
        lessons_per_module=3,
        enrollments=4_000,
        completions=20_000,
        xp_events=30_000,
    ),
}
DOMAINS = ["web-development", "data-science", "design", "business", "cloud", "security", "mobile", "ai"]
BENCH_PASSWORD = "bench-password-1"


def build(dsn: str, profile: str = "100k") -> dict:
    """Fill an empty, migrated database; returns the seconds each step took."""
    p = PROFILES[profile]
    pw = hash_password(BENCH_PASSWORD)
    timings = {}
    domains = "ARRAY[" + ",".join(f"'{d}'" for d in DOMAINS) + "]"
    n_instructors = max(p["courses"] // 5, 1)
    lessons_per_course = p["modules_per_course"] * p["lessons_per_module"]
    steps = [
        (
            "users",
            f"""
            INSERT INTO users (email, name, password_hash, role, status, token_version, xp_total,
                               email_verified, created_at, updated_at)
            SELECT 'user' || g || '@bench.example.com', 'Bench User ' || g, %(pw)s,
                   CASE WHEN g = 1 THEN 'admin' WHEN g <= {n_instructors + 1} THEN 'instructor'
                        ELSE 'student' END,
                   'active', 1, 0, true, now() - (g %% 365) * interval '1 day', now()
            FROM generate_series(1, {p["users"]}) g""",
        ),
        (
            "courses",
            f"""
            INSERT INTO courses (instructor_id, title, description, domain, price, currency, status,
                                 enrollment_count, created_at, updated_at, approved_at)
            SELECT 2 + (g % {n_instructors}), 'Course ' || g || ' on ' || ({domains})[1 + g % {len(DOMAINS)}],
                   'A practical course number ' || g || ' about python flask data design cloud topics',
                   ({domains})[1 + g % {len(DOMAINS)}],
                   CASE WHEN g % 3 = 0 THEN 0 ELSE 49900 + (g % 5) * 10000 END, 'INR',
                   CASE WHEN g % 10 = 0 THEN 'pending' ELSE 'approved' END, 0,
                   now() - (g % 300) * interval '1 day', now(), now()
            FROM generate_series(1, {p["courses"]}) g""",
        ),
        (
            "modules",
            f"""
            INSERT INTO modules (course_id, title, position, created_at, updated_at)
            SELECT c, 'Module ' || m, m - 1, now(), now()
            FROM generate_series(1, {p["courses"]}) c, generate_series(1, {p["modules_per_course"]}) m""",
        ),
        (
            "lessons",
            f"""
            INSERT INTO lessons (module_id, course_id, title, position, video_url, duration_seconds,
                                 created_at, updated_at)
            SELECT m.id, m.course_id, 'Lesson ' || l, l - 1,
                   'https://video.example.com/' || m.id || '/' || l || '.mp4', 600, now(), now()
            FROM modules m, generate_series(1, {p["lessons_per_module"]}) l""",
        ),
        (
            "quizzes",
            """
            INSERT INTO quizzes (module_id, course_id, question, options, correct_option, position,
                                 created_at, updated_at)
            SELECT id, course_id, 'Which is right?', '["a","b","c"]'::json, 1, 0, now(), now()
            FROM modules""",
        ),
        # Each student is enrolled in consecutive courses: unique (user, course) by construction.
        (
            "enrollments",
            f"""
            INSERT INTO enrollments (user_id, course_id, status, source, enrolled_at)
            SELECT s, 1 + ((s * 7 + k) % {p["courses"]}), 'active', 'seed',
                   now() - (k % 60) * interval '1 day'
            FROM generate_series({n_instructors + 2}, {p["users"]}) s, generate_series(0, 2) k
            LIMIT {p["enrollments"]}""",
        ),
        (
            "enrollment_counts",
            """
            UPDATE courses c SET enrollment_count = e.n
            FROM (SELECT course_id, count(*) n FROM enrollments GROUP BY course_id) e
            WHERE e.course_id = c.id""",
        ),
        (
            "completions",
            f"""
            INSERT INTO lesson_progress (user_id, lesson_id, course_id, completed_at)
            SELECT e.user_id, l.id, e.course_id, now() - ((e.id + l.id) % 60) * interval '1 day'
            FROM enrollments e
            JOIN LATERAL (SELECT id FROM lessons WHERE lessons.course_id = e.course_id ORDER BY id
                          LIMIT {min(p["completions"] // p["enrollments"], lessons_per_course)}) l ON true""",
        ),
        (
            "xp_events",
            f"""
            INSERT INTO xp_events (user_id, type, points, source_id, course_id, domain, timestamp)
            SELECT {n_instructors + 2} + (g % ({p["users"]} - {n_instructors + 1})),
                   (ARRAY['lesson_complete','quiz_pass','forum_post'])[1 + g % 3],
                   (ARRAY[10, 20, 5])[1 + g % 3], g, 1 + g % {p["courses"]},
                   ({domains})[1 + (g % {p["courses"]}) % {len(DOMAINS)}],
                   now() - (g % (60 * 24)) * interval '1 hour'
            FROM generate_series(1, {p["xp_events"]}) g""",
        ),
        (
            "xp_totals",
            """
            UPDATE users u SET xp_total = x.total
            FROM (SELECT user_id, sum(points) total FROM xp_events GROUP BY user_id) x
            WHERE x.user_id = u.id""",
        ),
        ("analyze", "ANALYZE"),
    ]
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name, sql in steps:
            started = time.perf_counter()
            conn.execute(sql, {"pw": pw} if "%(pw)s" in sql else None)
            timings[name] = round(time.perf_counter() - started, 2)
            print(f"  {name:<18} {timings[name]:>7.2f} s", flush=True)
    return timings


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dsn")
    parser.add_argument("--profile", default="100k", choices=sorted(PROFILES))
    args = parser.parse_args()
    build(args.dsn, args.profile)
