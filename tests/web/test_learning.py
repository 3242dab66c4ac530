"""Learning routes: free enrollment, my enrollments (fixed query count), progress and lesson completion."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select, update

from common.certificates.models import Certificate
from common.db import db
from common.gamification.models import XpEvent
from common.learning.models import Enrollment, LessonProgress
from common.quizzes.models import Quiz, QuizResult
from tests.factories import auth_headers, enroll, make_course, make_user


def _h(user):
    return auth_headers(user) if user else {}


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _lessons(course):
    return [lesson for module in course.modules for lesson in module.lessons]


# ---- enroll --------------------------------------------------------------------------------


def test_enroll_free_course(client, instructor, student):
    course = make_course(instructor)
    resp = client.post(f"/api/courses/{course.id}/enroll", headers=_h(student))
    assert resp.status_code == 201
    body = resp.get_json()
    assert (body["course_id"], body["status"], body["source"]) == (course.id, "active", "free")
    assert body["enrolled_at"].endswith("Z") and body["completed_at"] is None
    db.session.expire_all()
    assert course.enrollment_count == 1
    assert _count(Enrollment, Enrollment.user_id == student.id, Enrollment.status == "active") == 1
    again = client.post(f"/api/courses/{course.id}/enroll", headers=_h(student))
    assert again.status_code == 409
    db.session.expire_all()
    assert course.enrollment_count == 1


def test_enroll_paid_course_is_402(client, instructor, student):
    course = make_course(instructor, price=49900)
    resp = client.post(f"/api/courses/{course.id}/enroll", headers=_h(student))
    assert resp.status_code == 402
    body = resp.get_json()
    assert "/api/payments/order" in body["message"]
    assert body["errors"]["hint"]["body"] == {"course_id": course.id}
    assert _count(Enrollment) == 0


def test_enroll_paid_course_already_enrolled_is_409(client, instructor, student):
    course = make_course(instructor, price=49900)
    enroll(student, course, source="payment")
    resp = client.post(f"/api/courses/{course.id}/enroll", headers=_h(student))
    assert resp.status_code == 409 and resp.get_json()["code"] == 409
    assert _count(Enrollment) == 1
    # A refunded (revoked) buyer must pay again: 402 with the hint, not 409.
    db.session.execute(update(Enrollment).values(status="revoked"))
    db.session.commit()
    assert client.post(f"/api/courses/{course.id}/enroll", headers=_h(student)).status_code == 402


def test_revoked_enrollment_may_re_enroll(client, instructor, student):
    course = make_course(instructor)
    enrollment = enroll(student, course)
    enrollment.status = "revoked"
    course.enrollment_count = 0
    db.session.commit()
    assert client.post(f"/api/courses/{course.id}/enroll", headers=_h(student)).status_code == 201
    db.session.expire_all()
    assert enrollment.status == "active" and course.enrollment_count == 1


@pytest.mark.parametrize("status", ["draft", "pending", "rejected"])
def test_enroll_unpublished_is_404(client, instructor, student, status):
    course = make_course(instructor, status=status)
    assert client.post(f"/api/courses/{course.id}/enroll", headers=_h(student)).status_code == 404
    assert client.post("/api/courses/999999/enroll", headers=_h(student)).status_code == 404


@pytest.mark.parametrize("role,code", [(None, 401), ("instructor", 403), ("admin", 403)])
def test_enroll_refused_for_non_students(client, instructor, role, code):
    course = make_course(instructor)
    user = make_user(role) if role else None
    assert client.post(f"/api/courses/{course.id}/enroll", headers=_h(user)).status_code == code
    assert client.post(f"/api/courses/{course.id}/enroll", headers=_h(instructor)).status_code == 403
    assert _count(Enrollment) == 0


# ---- my enrollments ------------------------------------------------------------------------


def test_my_enrollments_with_progress(client, instructor, student):
    first = make_course(instructor, title="First", modules=2, lessons=2)
    second = make_course(instructor, title="Second", lessons=3)
    revoked = make_course(instructor, title="Revoked")
    enroll(student, first)
    enroll(student, second)
    gone = enroll(student, revoked)
    gone.status = "revoked"
    make_course(instructor, title="Empty", modules=0)
    other = make_user("student")
    enroll(other, first)
    for lesson in _lessons(first)[:3]:
        db.session.add(LessonProgress(user_id=student.id, lesson_id=lesson.id, course_id=first.id))
    db.session.add(LessonProgress(user_id=other.id, lesson_id=_lessons(second)[0].id, course_id=second.id))
    db.session.commit()
    resp = client.get("/api/me/enrollments", headers=_h(student))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["total"] == 2
    by_title = {item["course"]["title"]: item for item in body["items"]}
    assert set(by_title) == {"First", "Second"}
    assert by_title["First"]["progress"] == {"completed_lessons": 3, "total_lessons": 4, "percent": 75}
    assert by_title["Second"]["progress"] == {"completed_lessons": 0, "total_lessons": 3, "percent": 0}
    assert by_title["First"]["enrolled_at"].endswith("Z") and by_title["First"]["completed_at"] is None
    assert by_title["First"]["course"]["instructor"]["id"] == instructor.id


def test_my_enrollments_fixed_query_count(app, client, instructor, student):
    headers = _h(student)

    def queries_for(per_page, page=1, items=None):
        statements = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            resp = client.get(f"/api/me/enrollments?per_page={per_page}&page={page}", headers=headers)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert resp.status_code == 200
        body = resp.get_json()
        assert len(body["items"]) == (per_page if items is None else items) and body["total"] == 12
        return len(statements)

    for _ in range(12):
        course = make_course(make_user("instructor"), modules=2, lessons=2)
        enroll(student, course)
        db.session.add(
            LessonProgress(user_id=student.id, lesson_id=_lessons(course)[0].id, course_id=course.id)
        )
    db.session.commit()
    client.get("/api/me/enrollments", headers=headers)  # warm the token-version cache
    assert queries_for(1) == queries_for(12) == queries_for(5) == 1  # the page, with a window count
    assert queries_for(5, page=3, items=2) == 1
    assert queries_for(5, page=4, items=0) == 2  # past the end: no row carries the total, so count


def test_my_enrollments_empty(client, student):
    body = client.get("/api/me/enrollments", headers=_h(student)).get_json()
    assert (body["items"], body["total"], body["pages"]) == ([], 0, 0)


def test_my_enrollments_pagination_and_roles(client, instructor, student):
    for _ in range(3):
        enroll(student, make_course(instructor))
    resp = client.get("/api/me/enrollments?per_page=2&page=2", headers=_h(student))
    assert len(resp.get_json()["items"]) == 1 and resp.get_json()["pages"] == 2
    assert 'rel="prev"' in resp.headers["Link"]
    assert client.get("/api/me/enrollments?per_page=500", headers=_h(student)).status_code == 422
    assert client.get("/api/me/enrollments").status_code == 401
    assert client.get("/api/me/enrollments", headers=_h(instructor)).status_code == 403


# ---- progress ------------------------------------------------------------------------------


def test_progress_view(client, instructor, student):
    course = make_course(instructor, modules=2, lessons=2, quizzes=2)
    enroll(student, course)
    lessons = _lessons(course)
    quizzes = db.session.execute(select(Quiz).order_by(Quiz.module_id, Quiz.position)).scalars().all()
    for lesson in (lessons[0], lessons[2]):
        db.session.add(LessonProgress(user_id=student.id, lesson_id=lesson.id, course_id=course.id))
    # module 1: one quiz passed (after a wrong try), one only failed; module 2: none tried
    for quiz, correct in ((quizzes[0], False), (quizzes[0], True), (quizzes[1], False)):
        db.session.add(
            QuizResult(
                quiz_id=quiz.id,
                user_id=student.id,
                module_id=quiz.module_id,
                course_id=course.id,
                selected_option=0 if correct else 1,
                is_correct=correct,
                correct_option=0,
            )
        )
    db.session.commit()
    resp = client.get(f"/api/me/courses/{course.id}/progress", headers=_h(student))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["progress"] == {"completed_lessons": 2, "total_lessons": 4, "percent": 50}
    assert body["quizzes"] == {"total": 4, "passed": 1}
    assert body["next_lesson"]["id"] == lessons[1].id
    m1, m2 = body["modules"]
    assert m1["quizzes"] == {"total": 2, "passed": 1} and m2["quizzes"] == {"total": 2, "passed": 0}
    assert [lesson["completed"] for lesson in m1["lessons"]] == [True, False]
    assert [lesson["completed"] for lesson in m2["lessons"]] == [True, False]
    assert m1["lessons"][0]["completed_at"].endswith("Z") and m1["lessons"][1]["completed_at"] is None
    assert (m1["completed_lessons"], m1["total_lessons"]) == (1, 2)
    text = resp.get_data(as_text=True)
    assert "correct_option" not in text and "video_url" not in text


def test_progress_next_lesson_none_when_done(client, instructor, student):
    course = make_course(instructor, lessons=1)
    enroll(student, course)
    client.post(f"/api/lessons/{_lessons(course)[0].id}/complete", headers=_h(student))
    body = client.get(f"/api/me/courses/{course.id}/progress", headers=_h(student)).get_json()
    assert body["next_lesson"] is None and body["progress"]["percent"] == 100 and body["completed_at"]


def test_progress_refusals(client, instructor, student):
    course = make_course(instructor)
    draft = make_course(instructor, status="draft")
    assert client.get(f"/api/me/courses/{course.id}/progress").status_code == 401
    assert client.get(f"/api/me/courses/{course.id}/progress", headers=_h(student)).status_code == 403
    assert client.get(f"/api/me/courses/{draft.id}/progress", headers=_h(student)).status_code == 404
    assert client.get(f"/api/me/courses/{course.id}/progress", headers=_h(instructor)).status_code == 403
    assert client.get("/api/me/courses/999999/progress", headers=_h(student)).status_code == 404


# ---- complete ------------------------------------------------------------------------------


def test_complete_lesson_idempotent(client, instructor, student):
    course = make_course(instructor, lessons=2, domain="data-science")
    enroll(student, course)
    lesson = _lessons(course)[0]
    resp = client.post(f"/api/lessons/{lesson.id}/complete", headers=_h(student))
    assert resp.status_code == 200
    body = resp.get_json()
    assert (
        body["already_completed"] is False and body["xp_awarded"] == 10 and body["course_completed"] is False
    )
    first_at = body["completed_at"]
    again = client.post(f"/api/lessons/{lesson.id}/complete", headers=_h(student)).get_json()
    assert (
        again["already_completed"] is True and again["xp_awarded"] == 0 and again["completed_at"] == first_at
    )
    assert _count(LessonProgress) == 1
    event_row = db.session.execute(select(XpEvent)).scalar_one()
    assert (event_row.type, event_row.source_id, event_row.course_id, event_row.domain) == (
        "lesson_complete",
        lesson.id,
        course.id,
        "data-science",
    )
    db.session.refresh(student)
    assert student.xp_total == 10


def test_completing_last_lesson_completes_course(client, instructor, student):
    course = make_course(instructor, lessons=2)
    enroll(student, course)
    first, last = _lessons(course)
    client.post(f"/api/lessons/{first.id}/complete", headers=_h(student))
    body = client.post(f"/api/lessons/{last.id}/complete", headers=_h(student)).get_json()
    assert body["course_completed"] is True and body["course_newly_completed"] is True
    enrollment = db.session.execute(select(Enrollment)).scalar_one()
    assert enrollment.completed_at is not None
    assert _count(Certificate, Certificate.user_id == student.id, Certificate.course_id == course.id) == 1
    repeat = client.post(f"/api/lessons/{last.id}/complete", headers=_h(student)).get_json()
    assert repeat["course_completed"] is True and repeat["course_newly_completed"] is False
    listed = client.get("/api/me/enrollments", headers=_h(student)).get_json()["items"][0]
    assert listed["completed_at"] and listed["progress"]["percent"] == 100


def test_course_with_unpassed_quiz_is_not_complete(client, instructor, student):
    course = make_course(instructor, lessons=1, quizzes=1)
    enroll(student, course)
    body = client.post(f"/api/lessons/{_lessons(course)[0].id}/complete", headers=_h(student)).get_json()
    assert body["course_completed"] is False
    assert db.session.execute(select(Enrollment.completed_at)).scalar_one() is None
    assert _count(Certificate) == 0


def test_complete_refusals(client, instructor, student):
    course = make_course(instructor)
    lesson = _lessons(course)[0]
    draft_lesson = _lessons(make_course(instructor, status="draft"))[0]
    assert client.post(f"/api/lessons/{lesson.id}/complete").status_code == 401
    assert client.post(f"/api/lessons/{lesson.id}/complete", headers=_h(student)).status_code == 403
    assert client.post(f"/api/lessons/{draft_lesson.id}/complete", headers=_h(student)).status_code == 404
    assert client.post("/api/lessons/999999/complete", headers=_h(student)).status_code == 404
    assert client.post(f"/api/lessons/{lesson.id}/complete", headers=_h(instructor)).status_code == 403
    assert (
        client.post(f"/api/lessons/{lesson.id}/complete", headers=_h(make_user("admin"))).status_code == 403
    )
    revoked = make_user("student")
    enrollment = enroll(revoked, course)
    enrollment.status = "revoked"
    db.session.commit()
    assert client.post(f"/api/lessons/{lesson.id}/complete", headers=_h(revoked)).status_code == 403
    assert _count(LessonProgress) == 0 and _count(XpEvent) == 0


def test_progress_with_empty_module_and_hidden_course(client, instructor, student):
    course = make_course(instructor, modules=1, lessons=1)
    client.post(f"/api/courses/{course.id}/modules", json={"title": "Coming soon"}, headers=_h(instructor))
    enroll(student, course)
    body = client.get(f"/api/me/courses/{course.id}/progress", headers=_h(student)).get_json()
    assert [(m["title"], m["total_lessons"], m["lessons"]) for m in body["modules"]][1] == (
        "Coming soon",
        0,
        [],
    )
    assert body["progress"]["total_lessons"] == 1
    # a course taken off the catalogue is invisible even to its students
    course.status = "pending"
    db.session.commit()
    assert client.get(f"/api/me/courses/{course.id}/progress", headers=_h(student)).status_code == 404
