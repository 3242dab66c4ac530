"""Admin user management: search, suspend/unsuspend, promote/demote, self and last-admin rules, races."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from common.accounts import service as accounts
from common.accounts.models import User
from common.admin.models import AuditLog
from common.db import db, utcnow
from common.errors import Conflict
from tests.concurrency import run_together
from tests.factories import auth_headers, enroll, make_course, make_user


def _h(user):
    return auth_headers(user)


def _user(user_id) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def test_search_by_email_or_name_case_insensitive_with_counts(client, admin, instructor):
    ada = make_user(email="ada.lovelace@example.com", name="Ada Lovelace")
    grace = make_user(email="grace@navy.example.com", name="Grace HOPPER")
    make_user(email="other@example.com", name="Someone Else")
    ada.xp_total, ada.last_login_at = 120, utcnow() - timedelta(hours=1)
    db.session.commit()
    for course in (make_course(instructor), make_course(instructor)):
        enroll(ada, course)
    body = client.get("/api/admin/users?q=LOVELACE", headers=_h(admin)).get_json()
    assert [u["id"] for u in body["items"]] == [ada.id]
    item = body["items"][0]
    assert (item["xp"], item["enrollments"], item["email"]) == (120, 2, "ada.lovelace@example.com")
    assert item["last_login_at"].endswith("Z")
    assert [
        u["id"] for u in client.get("/api/admin/users?q=hopper", headers=_h(admin)).get_json()["items"]
    ] == [grace.id]
    assert [
        u["id"] for u in client.get("/api/admin/users?q=NAVY.EX", headers=_h(admin)).get_json()["items"]
    ] == [grace.id]
    # LIKE wildcards in the query are literal.
    assert client.get("/api/admin/users?q=%25", headers=_h(admin)).get_json()["total"] == 0


def test_filters_and_sorts(client, admin):
    low, high = make_user(), make_user()
    low.xp_total, high.xp_total = 5, 50
    suspended = make_user(status="suspended")
    db.session.commit()
    instructors = client.get("/api/admin/users?role=admin", headers=_h(admin)).get_json()
    assert [u["id"] for u in instructors["items"]] == [admin.id]
    only = client.get("/api/admin/users?status=suspended", headers=_h(admin)).get_json()
    assert [u["id"] for u in only["items"]] == [suspended.id]
    by_xp = client.get("/api/admin/users?sort=xp&role=student", headers=_h(admin)).get_json()
    assert [u["id"] for u in by_xp["items"]][:2] == [high.id, low.id]
    newest = client.get("/api/admin/users?per_page=1", headers=_h(admin))
    assert newest.get_json()["total"] == 4 and 'rel="next"' in newest.headers["Link"]


@pytest.mark.parametrize("query", ["role=owner", "status=gone", "sort=random", "page=0", "per_page=1000"])
def test_bad_search_arguments_are_422(client, admin, query):
    resp = client.get(f"/api/admin/users?{query}", headers=_h(admin))
    assert resp.status_code == 422 and resp.get_json()["code"] == 422


def test_suspend_revokes_tokens_keeps_content_and_unsuspend_restores(client, admin, student):
    old = _h(student)
    assert client.get("/api/auth/me", headers=old).status_code == 200
    resp = client.post(f"/api/admin/users/{student.id}/suspend", json={"reason": "Spam"}, headers=_h(admin))
    assert resp.status_code == 200 and resp.get_json()["status"] == "suspended"
    assert client.get("/api/auth/me", headers=old).status_code == 403  # API.md: 403 for a suspended account
    assert (_user(student.id).status, _user(student.id).suspended_reason) == ("suspended", "Spam")
    assert (
        client.post(f"/api/admin/users/{student.id}/unsuspend", headers=_h(admin)).get_json()["status"]
        == "active"
    )
    assert _user(student.id).suspended_reason is None
    assert client.get("/api/auth/me", headers=_h(_user(student.id))).status_code == 200
    actions = db.session.execute(
        select(AuditLog.action, AuditLog.before, AuditLog.after).order_by(AuditLog.id)
    ).all()
    assert actions == [
        ("user.suspend", {"role": "student", "status": "active"}, {"role": "student", "status": "suspended"}),
        (
            "user.unsuspend",
            {"role": "student", "status": "suspended"},
            {"role": "student", "status": "active"},
        ),
    ]


def test_suspend_needs_a_reason_and_a_known_user(client, admin, student):
    assert (
        client.post(f"/api/admin/users/{student.id}/suspend", json={}, headers=_h(admin)).status_code == 422
    )
    assert (
        client.post("/api/admin/users/999/suspend", json={"reason": "x"}, headers=_h(admin)).status_code
        == 404
    )
    assert client.post("/api/admin/users/999/unsuspend", headers=_h(admin)).status_code == 404
    assert (
        client.post("/api/admin/users/999/promote", json={"role": "admin"}, headers=_h(admin)).status_code
        == 404
    )
    assert _user(student.id).status == "active"


def test_promote_and_demote(client, admin, student):
    old = _h(student)
    resp = client.post(
        f"/api/admin/users/{student.id}/promote", json={"role": "instructor"}, headers=_h(admin)
    )
    assert resp.status_code == 200 and resp.get_json()["role"] == "instructor"
    assert client.get("/api/auth/me", headers=old).status_code == 401  # the old role's token is gone
    assert (
        client.post(
            f"/api/admin/users/{student.id}/promote", json={"role": "root"}, headers=_h(admin)
        ).status_code
        == 422
    )
    assert (
        client.post(
            f"/api/admin/users/{student.id}/promote", json={"role": "student"}, headers=_h(admin)
        ).get_json()["role"]
        == "student"
    )
    (entry, _) = db.session.execute(select(AuditLog).order_by(AuditLog.id)).scalars().all()
    assert entry.detail == {"from": "student", "to": "instructor"} and entry.actor_id == admin.id


def test_an_admin_cannot_suspend_or_demote_themselves(client, admin):
    make_user("admin")
    assert (
        client.post(
            f"/api/admin/users/{admin.id}/suspend", json={"reason": "x"}, headers=_h(admin)
        ).status_code
        == 409
    )
    assert (
        client.post(
            f"/api/admin/users/{admin.id}/promote", json={"role": "student"}, headers=_h(admin)
        ).status_code
        == 409
    )
    assert (_user(admin.id).role, _user(admin.id).status) == ("admin", "active")


def test_the_last_active_admin_is_never_removed(app, admin):
    # The only other admin is suspended: `admin` is the last active one.
    other = make_user("admin", status="suspended")
    helper = make_user("admin")
    # helper may act on admin while two admins are active...
    accounts.set_suspended(actor_id=helper.id, user_id=other.id, suspended=False)
    accounts.set_suspended(actor_id=admin.id, user_id=other.id, suspended=True)
    accounts.promote(actor_id=admin.id, user_id=helper.id, role="student")
    # ...but no one may remove the last active admin (an actor id of a non-admin reaches the rule too).
    with pytest.raises(Conflict):
        accounts.set_suspended(actor_id=other.id, user_id=admin.id, suspended=True)
    with pytest.raises(Conflict):
        accounts.promote(actor_id=other.id, user_id=admin.id, role="instructor")
    assert (_user(admin.id).role, _user(admin.id).status) == ("admin", "active")


@pytest.mark.parametrize("action", ["suspend", "demote"])
def test_two_admins_removing_each_other_at_once_leave_one(app, action):
    first, second = make_user("admin"), make_user("admin")
    first_id, second_id = first.id, second.id

    def remove(actor_id, user_id):
        def call():
            try:
                if action == "suspend":
                    accounts.set_suspended(actor_id=actor_id, user_id=user_id, suspended=True, reason="race")
                else:
                    accounts.promote(actor_id=actor_id, user_id=user_id, role="student")
                return "done"
            except Conflict:
                return "refused"

        return call

    results = run_together(app, [remove(first_id, second_id), remove(second_id, first_id)])
    assert sorted(results) == ["done", "refused"]
    active_admins = db.session.execute(
        select(User.id).where(User.role == "admin", User.status == "active")
    ).all()
    assert len(active_admins) == 1
    assert db.session.execute(select(AuditLog)).scalars().all().__len__() == 1
