"""GET /admin/audit-log: entries written by real actions, newest first, every filter, bad input."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from common.admin.models import AuditLog
from common.db import db, utcnow
from tests.factories import auth_headers, make_certificate, make_course, make_user


def _actions(client, admin, query=""):
    body = client.get(f"/api/admin/audit-log{query}", headers=auth_headers(admin)).get_json()
    return [(e["action"], e["object_id"]) for e in body["items"]]


def _setup(client):
    admin, other_admin, instructor, student = (
        make_user("admin"),
        make_user("admin"),
        make_user("instructor"),
        make_user(),
    )
    pending = make_course(instructor, status="pending")
    draft = make_course(instructor, status="draft")
    h = auth_headers(admin)
    assert client.post(f"/api/admin/courses/{pending.id}/approve", headers=h).status_code == 200
    assert (
        client.post(
            f"/api/admin/users/{student.id}/suspend",
            json={"reason": "spam"},
            headers=auth_headers(other_admin),
        ).status_code
        == 200
    )
    assert client.delete(f"/api/courses/{draft.id}", headers=auth_headers(instructor)).status_code == 204
    return admin, other_admin, instructor, student, pending, draft


def test_newest_first_with_actor_object_before_after_and_ip(client):
    admin, other_admin, instructor, student, pending, draft = _setup(client)
    body = client.get("/api/admin/audit-log", headers=auth_headers(admin)).get_json()
    assert [e["action"] for e in body["items"]] == ["course.delete", "user.suspend", "course.approve"]
    delete, suspend, approve = body["items"]
    assert (delete["actor_id"], delete["object_type"], delete["object_id"]) == (
        instructor.id,
        "course",
        str(draft.id),
    )
    assert delete["before"]["title"] == draft.title and delete["after"] is None
    assert suspend["detail"] == {"reason": "spam"} and suspend["after"]["status"] == "suspended"
    assert approve["ip"] == "127.0.0.1" and approve["created_at"].endswith("Z")


def test_filters(client):
    admin, other_admin, instructor, student, pending, draft = _setup(client)
    assert _actions(client, admin, f"?actor_id={other_admin.id}") == [("user.suspend", str(student.id))]
    assert _actions(client, admin, "?action=course.approve") == [("course.approve", str(pending.id))]
    assert _actions(client, admin, "?object_type=course") == [
        ("course.delete", str(draft.id)),
        ("course.approve", str(pending.id)),
    ]
    assert _actions(client, admin, f"?object_type=user&object_id={student.id}") == [
        ("user.suspend", str(student.id))
    ]
    old = db.session.execute(select(AuditLog).where(AuditLog.action == "course.approve")).scalar_one()
    old.created_at = utcnow() - timedelta(days=3)
    db.session.commit()
    since = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [a for a, _ in _actions(client, admin, f"?from={since}")] == ["course.delete", "user.suspend"]
    assert [a for a, _ in _actions(client, admin, f"?to={since}")] == ["course.approve"]
    paged = client.get("/api/admin/audit-log?per_page=1&page=2", headers=auth_headers(admin)).get_json()
    assert (paged["total"], len(paged["items"])) == (3, 1)


def test_bad_filters_are_422(client, admin):
    for query in (
        "?actor_id=abc",
        "?from=yesterday",
        "?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        "?action=" + "x" * 65,
    ):
        resp = client.get(f"/api/admin/audit-log{query}", headers=auth_headers(admin))
        assert resp.status_code == 422 and resp.get_json()["code"] == 422, query


def test_certificate_rerender_records_before_and_after(client, admin, instructor):
    learner = make_user()
    course = make_course(instructor)
    certificate = make_certificate(learner, course, status="failed")
    assert (
        client.post(
            f"/api/admin/certificates/{certificate.id}/render", headers=auth_headers(admin)
        ).status_code
        == 202
    )
    entry = db.session.execute(select(AuditLog)).scalar_one()
    assert (entry.action, entry.before["status"], entry.after["status"]) == (
        "certificate.rerender",
        "failed",
        "pending",
    )
