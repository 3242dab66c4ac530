"""GET /admin/stats against hand-computed fixtures: refunds, currencies, revoked access and zero days."""

from __future__ import annotations

import itertools
from datetime import timedelta

from common.admin import stats
from common.db import db, utcnow
from common.learning.models import Enrollment
from common.payments.models import Payment
from tests.factories import auth_headers, enroll, make_course, make_user

_n = itertools.count(1)


def _payment(user, course, amount, status, currency="INR", paid_days_ago=None, refunded_days_ago=None):
    n = next(_n)
    now = utcnow()
    payment = Payment(
        user_id=user.id,
        course_id=course.id,
        course_title=course.title,
        amount=amount,
        currency=currency,
        receipt=f"rcpt_{n}",
        order_id=f"order_{n}",
        status=status,
        paid_at=None if paid_days_ago is None else now - timedelta(days=paid_days_ago),
        refunded_at=None if refunded_days_ago is None else now - timedelta(days=refunded_days_ago),
    )
    db.session.add(payment)
    db.session.commit()
    return payment


def _fixture():
    admin = make_user("admin")
    teacher, other_teacher = make_user("instructor"), make_user("instructor")
    s1, s2, s3 = make_user(), make_user(), make_user(status="suspended")
    s3.created_at = utcnow() - timedelta(days=5)
    c1 = make_course(teacher, status="approved", title="Alpha")
    c2 = make_course(other_teacher, status="approved", title="Beta")
    make_course(teacher, status="pending")
    make_course(teacher, status="draft")
    e1 = enroll(s1, c1)
    e1.completed_at = utcnow()
    enroll(s2, c1)
    e3 = enroll(s3, c2)
    e3.status, e3.revoked_at = "revoked", utcnow()
    c2.enrollment_count -= 1  # as revoke_enrollment keeps it
    old = enroll(s1, c2)
    old.enrolled_at = utcnow() - timedelta(days=40)  # outside the 30-day window
    db.session.commit()
    _payment(s1, c1, 50_000, "paid", paid_days_ago=0)
    _payment(s3, c2, 30_000, "refunded", paid_days_ago=3, refunded_days_ago=0)
    _payment(s2, c2, 1_000, "paid", currency="USD", paid_days_ago=2)
    _payment(s2, c1, 70_000, "created")
    _payment(s2, c1, 70_000, "failed")
    return admin, c1, c2


def test_stats_match_the_hand_computed_figures(client):
    admin, c1, c2 = _fixture()
    resp = client.get("/api/admin/stats", headers=auth_headers(admin))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["users"] == {"students": 3, "instructors": 2, "admins": 1, "suspended": 1, "total": 6}
    assert body["courses"] == {"draft": 1, "pending": 1, "approved": 2, "rejected": 0}
    # s1 in c1 (completed), s2 in c1, s1 in c2 (old) are active; s3's is revoked.
    assert body["enrollments"] == {"active": 3, "completed": 1, "revoked": 1}
    assert body["earnings"] == [
        {"currency": "INR", "paid": 80_000, "refunded": 30_000, "net": 50_000},
        {"currency": "USD", "paid": 1_000, "refunded": 0, "net": 1_000},
    ]
    assert body["top_courses_by_enrollments"] == [
        {"course_id": c1.id, "title": "Alpha", "active_enrollments": 2},
        {"course_id": c2.id, "title": "Beta", "active_enrollments": 1},
    ]
    assert body["top_courses_by_revenue"] == [
        {"course_id": c1.id, "title": "Alpha", "currency": "INR", "net_revenue": 50_000},
        {"course_id": c2.id, "title": "Beta", "currency": "USD", "net_revenue": 1_000},
    ]
    daily = body["daily"]
    today = utcnow().date()
    assert len(daily) == 30 and daily[-1]["date"] == today.isoformat()
    assert daily[0]["date"] == (today - timedelta(days=29)).isoformat()
    by_date = {d["date"]: d for d in daily}

    def day(ago):
        return by_date[(today - timedelta(days=ago)).isoformat()]

    # Today: 5 signups (s3 is back-dated), 3 enrollments; INR +50,000 paid - 30,000 refunded.
    assert day(0) == {
        "date": today.isoformat(),
        "signups": 5,
        "enrollments": 3,
        "revenue": {"INR": 20_000, "USD": 0},
    }
    assert day(2)["revenue"] == {"INR": 0, "USD": 1_000}
    assert day(3)["revenue"] == {"INR": 30_000, "USD": 0}
    assert day(5)["signups"] == 1
    zero_days = [d for d in daily if d["date"] not in {day(a)["date"] for a in (0, 2, 3, 5)}]
    assert len(zero_days) == 26
    assert all(
        d["signups"] == 0 and d["enrollments"] == 0 and d["revenue"] == {"INR": 0, "USD": 0}
        for d in zero_days
    )


def test_stats_are_cached_for_the_configured_ttl(client, app):
    admin = make_user("admin")
    assert app.config["ADMIN_STATS_CACHE_SECONDS"] > 0
    first = client.get("/api/admin/stats", headers=auth_headers(admin)).get_json()
    make_user()
    cached = client.get("/api/admin/stats", headers=auth_headers(admin)).get_json()
    assert cached == first and cached["users"]["total"] == 1
    assert stats.platform_stats(fresh=True)["users"]["total"] == 2


def test_empty_platform_is_all_zeros(client):
    admin = make_user("admin")
    body = client.get("/api/admin/stats", headers=auth_headers(admin)).get_json()
    assert body["earnings"] == [] and body["top_courses_by_revenue"] == []
    assert body["enrollments"] == {"active": 0, "completed": 0, "revoked": 0}
    assert sum(d["signups"] for d in body["daily"]) == 1 and all(d["revenue"] == {} for d in body["daily"])
    assert Enrollment.query.count() == 0
