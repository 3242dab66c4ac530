"""Admin course review: the queue, approve, reject, unpublish, the catalogue and the audit trail."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from common.admin.models import AuditLog
from common.catalog.models import Course
from common.db import db, utcnow
from tests.factories import auth_headers, enroll, make_course, make_user


def _h(user):
    return auth_headers(user)


def _pending(instructor, submitted_days_ago: int, **kwargs) -> Course:
    course = make_course(instructor, status="pending", **kwargs)
    course.submitted_at = utcnow() - timedelta(days=submitted_days_ago)
    db.session.commit()
    return course


def _audit(action):
    return db.session.execute(select(AuditLog).where(AuditLog.action == action)).scalars().all()


def test_review_queue_lists_pending_oldest_first_with_counts(client, admin, instructor):
    newer = _pending(instructor, 1, modules=1, lessons=1)
    older = _pending(instructor, 3, modules=2, lessons=3, quizzes=1)
    make_course(instructor, status="approved")
    resp = client.get("/api/admin/courses", headers=_h(admin))
    assert resp.status_code == 200
    body = resp.get_json()
    assert [c["id"] for c in body["items"]] == [older.id, newer.id] and body["total"] == 2
    first = body["items"][0]
    assert (first["modules"], first["lessons"], first["quizzes"]) == (2, 6, 2)
    assert first["instructor"] == {"id": instructor.id, "name": instructor.name, "email": instructor.email}
    assert first["submitted_at"].endswith("Z") and first["status"] == "pending"
    approved = client.get("/api/admin/courses?status=approved", headers=_h(admin)).get_json()
    assert approved["total"] == 1


def test_review_queue_refuses_an_unknown_status(client, admin):
    resp = client.get("/api/admin/courses?status=published", headers=_h(admin))
    assert resp.status_code == 422 and "status" in resp.get_json()["errors"]["query"]


def test_approve_publishes_at_once_and_is_audited(client, admin, instructor):
    course = _pending(instructor, 1)
    assert client.get("/api/courses", headers=_h(admin)).get_json()["total"] == 0  # cached empty page
    resp = client.post(f"/api/admin/courses/{course.id}/approve", headers=_h(admin))
    assert resp.status_code == 200 and resp.get_json()["status"] == "approved"
    assert [c["id"] for c in client.get("/api/courses").get_json()["items"]] == [course.id]
    db.session.expire_all()
    assert db.session.get(Course, course.id).approved_at is not None
    (entry,) = _audit("course.approve")
    assert (entry.actor_id, entry.object_type, entry.object_id) == (admin.id, "course", str(course.id))
    assert entry.before["status"] == "pending" and entry.after["status"] == "approved"
    assert entry.ip == "127.0.0.1"


def test_reject_needs_a_reason_and_the_instructor_sees_it(client, admin, instructor):
    course = _pending(instructor, 1)
    for body in ({}, {"reason": "   "}, {"reason": "x" * 2001}):
        resp = client.post(f"/api/admin/courses/{course.id}/reject", json=body, headers=_h(admin))
        assert resp.status_code == 422 and "reason" in resp.get_json()["errors"]["json"]
    assert db.session.get(Course, course.id).status == "pending"
    resp = client.post(
        f"/api/admin/courses/{course.id}/reject", json={"reason": "Add captions"}, headers=_h(admin)
    )
    assert resp.status_code == 200
    mine = client.get("/api/instructor/courses", headers=_h(instructor)).get_json()["items"][0]
    assert (mine["status"], mine["review_reason"]) == ("rejected", "Add captions")
    outline = client.get(f"/api/courses/{course.id}", headers=_h(instructor)).get_json()
    assert outline["review_reason"] == "Add captions"
    (entry,) = _audit("course.reject")
    assert entry.detail["reason"] == "Add captions" and entry.after == {
        "status": "rejected",
        "review_reason": "Add captions",
    }


def test_approve_and_reject_only_from_pending(client, admin, instructor):
    for status in ("draft", "approved", "rejected"):
        course = make_course(instructor, status=status)
        for action, body in (("approve", None), ("reject", {"reason": "no"})):
            resp = client.post(f"/api/admin/courses/{course.id}/{action}", json=body, headers=_h(admin))
            assert resp.status_code == 409, (status, action)
        db.session.expire_all()
        assert db.session.get(Course, course.id).status == status
    assert _audit("course.approve") == [] and _audit("course.reject") == []


def test_unknown_course_is_404(client, admin):
    assert client.post("/api/admin/courses/999/approve", headers=_h(admin)).status_code == 404
    assert (
        client.post("/api/admin/courses/999/unpublish", json={"reason": "x"}, headers=_h(admin)).status_code
        == 404
    )


def test_unpublish_hides_from_catalogue_but_enrolled_students_keep_access(client, admin, instructor):
    course = make_course(instructor, status="approved", lessons=2)
    course.approved_at = utcnow()
    db.session.commit()
    learner, outsider = make_user(), make_user()
    enroll(learner, course)
    assert client.get("/api/courses").get_json()["total"] == 1
    assert (
        client.post(f"/api/admin/courses/{course.id}/unpublish", json={}, headers=_h(admin)).status_code
        == 422
    )
    resp = client.post(
        f"/api/admin/courses/{course.id}/unpublish", json={"reason": "Copyright claim"}, headers=_h(admin)
    )
    assert resp.status_code == 200 and resp.get_json()["review_reason"] == "Copyright claim"
    assert client.get("/api/courses").get_json()["total"] == 0
    assert client.get(f"/api/courses/{course.id}", headers=_h(outsider)).status_code == 404
    outline = client.get(f"/api/courses/{course.id}", headers=_h(learner))
    assert outline.status_code == 200 and outline.get_json()["content_access"] is True
    lesson_id = outline.get_json()["modules"][0]["lessons"][0]["id"]
    assert client.get(f"/api/lessons/{lesson_id}", headers=_h(learner)).status_code == 200
    assert client.post(f"/api/lessons/{lesson_id}/complete", headers=_h(learner)).status_code == 200
    assert client.get(f"/api/me/courses/{course.id}/progress", headers=_h(learner)).status_code == 200
    assert client.post(f"/api/courses/{course.id}/enroll", headers=_h(outsider)).status_code == 404
    (entry,) = _audit("course.unpublish")
    assert entry.before["status"] == "approved" and entry.after["status"] == "rejected"
    # Only an approved course can be unpublished.
    again = client.post(f"/api/admin/courses/{course.id}/unpublish", json={"reason": "x"}, headers=_h(admin))
    assert again.status_code == 409


def test_instructor_deletes_of_module_and_lesson_are_audited(client, instructor):
    course = make_course(instructor, status="draft", modules=2, lessons=2)
    outline = client.get(f"/api/courses/{course.id}", headers=_h(instructor)).get_json()
    lesson = outline["modules"][0]["lessons"][0]
    module = outline["modules"][1]
    assert client.delete(f"/api/lessons/{lesson['id']}", headers=_h(instructor)).status_code == 204
    assert client.delete(f"/api/modules/{module['id']}", headers=_h(instructor)).status_code == 204
    (lesson_entry,) = _audit("lesson.delete")
    assert lesson_entry.actor_id == instructor.id and lesson_entry.before["title"] == lesson["title"]
    (module_entry,) = _audit("module.delete")
    assert module_entry.object_id == str(module["id"]) and module_entry.detail["course_id"] == course.id
