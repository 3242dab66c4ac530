"""How many SQL statements each hot route sends (counts, never times: speed is measured in bench/)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event

from common.cache import cache
from common.db import built_once, db
from common.forum.models import Post
from common.gamification import service as gamification
from common.quizzes.models import Quiz
from tests.factories import auth_headers, enroll, make_course, make_user
from tests.query_counter import recorded_statements


@pytest.fixture
def world():
    instructor = make_user("instructor")
    course = make_course(
        instructor, modules=2, lessons=3, quizzes=1, domain="data-science", title="Python data"
    )
    student, admin = make_user("student"), make_user("admin")
    enroll(student, course)
    for n in range(3):
        db.session.add(Post(course_id=course.id, user_id=student.id, title=f"Question {n}", body="Why?"))
    db.session.commit()
    lessons = [lesson for module in course.modules for lesson in module.lessons]
    quizzes = db.session.query(Quiz).filter_by(course_id=course.id).order_by(Quiz.module_id, Quiz.position)
    return {
        "course": course.id,
        "lessons": [lesson.id for lesson in lessons],
        "quizzes": [q.id for q in quizzes],
        "student": auth_headers(student),
        "admin": auth_headers(admin),
    }


@pytest.fixture
def count(client):
    """count(method, url, headers, json=None, status=200) -> how many statements the request sent."""

    def run(method, url, headers=None, *, json=None, status=200):
        db.session.commit()
        db.session.expunge_all()  # the request shares this session: no help from its identity map
        with recorded_statements() as statements:
            response = client.open(url, method=method, headers=headers or {}, json=json)
        assert response.status_code == status, response.get_json()
        sent.append((method, url, statements))
        return len(statements)

    sent = []
    yield run
    for method, url, statements in sent:  # shown with a failure: what each request sent
        print(
            f"{method} {url}: {len(statements)}",
            *(" " + " ".join(s.split())[:160] for s in statements),
            sep="\n",
        )

    return run


def test_catalogue_by_domain(world, count):
    url = "/api/courses?domain=data-science"
    assert count("GET", url) == 2  # the total, the page
    assert count("GET", url) == 0  # cached


def test_outline(world, count):
    url = f"/api/courses/{world['course']}"
    assert count("GET", url) == 3  # the course, its modules, their lessons
    assert count("GET", url) == 0  # cached
    count("GET", "/api/auth/me", world["student"])
    # content access (the course, the enrollment), then the full variant (course, modules, lessons)
    assert count("GET", url, world["student"]) == 5
    assert count("GET", url, world["student"]) == 2  # cached: only the access check


def test_search_with_a_token(world, count):
    count("GET", "/api/auth/me", world["student"])  # the token's state is cached from here on
    assert count("GET", "/api/courses?q=python", world["student"]) == 2  # the total, the page
    assert count("GET", "/api/courses?q=python", world["student"]) == 0


def test_my_enrollments_and_progress(world, count):
    count("GET", "/api/auth/me", world["student"])
    assert count("GET", "/api/me/enrollments", world["student"]) == 1
    assert count("GET", f"/api/me/courses/{world['course']}/progress", world["student"]) == 1


def test_lesson_completion(world, count):
    count("GET", "/api/auth/me", world["student"])
    first, second = world["lessons"][:2]
    # state, lock and progress (one statement), the award (XP event, XP total, unheld badges and
    # streak days in one statement), lesson count and first-lesson badge, completion stamp
    assert count("POST", f"/api/lessons/{first}/complete", world["student"]) == 6
    # first-lesson is held now: no lesson count, no badge
    assert count("POST", f"/api/lessons/{second}/complete", world["student"]) == 4
    assert count("POST", f"/api/lessons/{second}/complete", world["student"]) == 1  # repeated: one read


def test_quiz_attempt(world, count):
    count("GET", "/api/auth/me", world["student"])
    quiz = world["quizzes"][0]
    url = f"/api/quizzes/{quiz}/attempts"
    # quiz and enrollment state (locked), then the attempts so far and the attempt in one statement
    assert count("POST", url, world["student"], json={"selected_option": 1}, status=201) == 2
    # + the award (one statement), quiz count and first-quiz badge, completion stamp
    assert count("POST", url, world["student"], json={"selected_option": 0}, status=201) == 6
    # passed already (seen by the count under the lock): no award, only the completion check
    assert count("POST", url, world["student"], json={"selected_option": 0}, status=201) == 3


def test_leaderboard(world, count):
    for lesson in world["lessons"][:2]:
        count("POST", f"/api/lessons/{lesson}/complete", world["student"])
    gamification.rebuild_leaderboards()
    url = "/api/leaderboard?period=weekly&limit=10"
    assert count("GET", url) == 1  # the names of the ranked users
    assert count("GET", url) == 0  # the body is cached
    assert count("GET", url, world["student"]) == 0  # `me` comes from Redis too


def test_forum_thread_list(world, count):
    count("GET", "/api/auth/me", world["student"])
    # the page with its total, the course's instructor and the caller's enrollment
    assert count("GET", f"/api/courses/{world['course']}/posts", world["student"]) == 1


def test_admin_stats_uncached(world, count):
    count("GET", "/api/auth/me", world["admin"])
    cache.flush()
    count("GET", "/api/auth/me", world["admin"])
    # SET LOCAL, earnings, roles, suspended, courses, enrollments, two tops, two daily counts, two
    # daily revenues
    assert count("GET", "/api/admin/stats", world["admin"]) == 12
    assert count("GET", "/api/admin/stats", world["admin"]) == 0  # cached


def test_hot_statements_run_as_the_object_that_was_compiled(world, client):
    """A cached statement executed as an equal but different object (two builders with one compiled
    form, or a builder that ran twice) has its result columns re-mapped on every execution."""
    remapped = []

    def check(conn, cursor, statement, parameters, context, executemany):
        compiled = context.compiled
        if (
            compiled is not None
            and compiled._result_columns
            and context.cache_hit == context.dialect.CACHE_HIT
            and compiled.statement is not context.invoked_statement
            and not context.execution_options.get("_result_disable_adapt_to_context", False)
        ):
            remapped.append(" ".join(statement.split())[:160])

    requests = [
        *(("POST", f"/api/lessons/{lesson}/complete", None) for lesson in world["lessons"][:3]),
        *(("POST", f"/api/quizzes/{quiz}/attempts", {"selected_option": 0}) for quiz in world["quizzes"]),
        ("GET", f"/api/courses/{world['course']}/posts", None),
        ("GET", "/api/me/enrollments", None),
        ("GET", f"/api/me/courses/{world['course']}/progress", None),
    ]
    event.listen(db.engine, "before_cursor_execute", check)
    try:
        for _ in range(2):
            for method, url, body in requests:
                response = client.open(url, method=method, headers=world["student"], json=body)
                assert response.status_code < 300, response.get_json()
    finally:
        event.remove(db.engine, "before_cursor_execute", check)
    assert remapped == []


def test_a_statement_builder_runs_once_when_threads_race():
    calls = []

    @built_once
    def build(shape):
        calls.append(shape)
        time.sleep(0.05)  # long enough for every thread to ask while the first is building
        return object()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: build("page"), range(8)))
    assert calls == ["page"]
    assert all(result is results[0] for result in results)
