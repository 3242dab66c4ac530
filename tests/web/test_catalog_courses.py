"""Courses: authoring, the review workflow, the catalogue, domains and the instructor dashboard."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from common.admin.models import AuditLog
from common.catalog.models import Course, Lesson, Module
from common.db import db
from common.learning.models import Enrollment
from common.payments.models import Payment
from common.quizzes.models import Quiz
from tests.factories import auth_headers, enroll, make_course, make_user


def _h(user):
    return auth_headers(user) if user else {}


NEW = {
    "title": "Intro to Rust",
    "description": "Ownership and borrowing.",
    "domain": "programming",
    "price": 49900,
}


# ---- create --------------------------------------------------------------------------------


def test_instructor_creates_draft(client, instructor):
    resp = client.post("/api/courses", json=NEW, headers=_h(instructor))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "draft" and body["currency"] == "INR" and body["price"] == 49900
    assert body["instructor"] == {"id": instructor.id, "name": instructor.name}
    assert body["created_at"].endswith("Z")
    course = db.session.get(Course, body["id"])
    assert (course.title, course.domain, course.instructor_id) == (
        "Intro to Rust",
        "programming",
        instructor.id,
    )


def test_admin_may_create(client, admin):
    assert client.post("/api/courses", json=NEW, headers=_h(admin)).status_code == 201


@pytest.mark.parametrize("role,status", [(None, 401), ("student", 403)])
def test_create_refused(client, role, status):
    user = make_user(role) if role else None
    assert client.post("/api/courses", json=NEW, headers=_h(user)).status_code == status
    assert db.session.scalar(select(func.count()).select_from(Course)) == 0


@pytest.mark.parametrize(
    "patch,field",
    [
        ({"price": -1}, "price"),
        ({"price": 12.5}, "price"),
        ({"price": "100"}, "price"),
        ({"price": 10**12}, "price"),
        ({"currency": "inr"}, "currency"),
        ({"currency": "RUPEE"}, "currency"),
        ({"domain": "Web Dev"}, "domain"),
        ({"domain": "-web"}, "domain"),
        ({"domain": "a" * 65}, "domain"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"status": "approved"}, "status"),
    ],
)
def test_create_bad_input(client, instructor, patch, field):
    resp = client.post("/api/courses", json={**NEW, **patch}, headers=_h(instructor))
    assert resp.status_code == 422
    assert field in resp.get_json()["errors"]["json"]


def test_create_missing_fields(client, instructor):
    resp = client.post("/api/courses", json={"title": "x"}, headers=_h(instructor))
    assert resp.status_code == 422 and "domain" in resp.get_json()["errors"]["json"]


@pytest.mark.parametrize("method", ["post", "patch"])
def test_only_supported_currencies(client, instructor, method):
    """A currency Razorpay would refuse at order time (502 then) is a 422 when the course is written."""
    course = make_course(instructor, status="draft")
    url = "/api/courses" if method == "post" else f"/api/courses/{course.id}"
    resp = getattr(client, method)(
        url, json={"title": "T", "domain": "web", "currency": "QVB"}, headers=_h(instructor)
    )
    assert resp.status_code == 422 and "INR" in resp.get_json()["errors"]["json"]["currency"][0]
    db.session.expire_all()
    assert db.session.query(Course).count() == 1 and course.currency == "INR"


# ---- update / delete -----------------------------------------------------------------------


def test_owner_updates_approved_course_stays_public(client, instructor, app, monkeypatch):
    monkeypatch.setitem(app.config, "SUPPORTED_CURRENCIES", ["INR", "USD"])
    course = make_course(instructor, status="approved")
    resp = client.patch(
        f"/api/courses/{course.id}",
        json={"title": "Better title", "price": 0, "currency": "USD"},
        headers=_h(instructor),
    )
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "approved"
    db.session.expire_all()
    assert (course.title, course.currency) == ("Better title", "USD")
    listed = client.get("/api/courses").get_json()["items"]
    assert [c["title"] for c in listed] == ["Better title"]


def test_update_refusals(client, instructor):
    other = make_user("instructor")
    draft = make_course(instructor, status="draft")
    public = make_course(instructor, status="approved")
    assert client.patch(f"/api/courses/{draft.id}", json={"title": "x"}).status_code == 401
    assert client.patch(f"/api/courses/{draft.id}", json={"title": "x"}, headers=_h(other)).status_code == 404
    assert (
        client.patch(f"/api/courses/{public.id}", json={"title": "x"}, headers=_h(other)).status_code == 403
    )
    student = make_user("student")
    assert (
        client.patch(f"/api/courses/{public.id}", json={"title": "x"}, headers=_h(student)).status_code == 403
    )
    assert client.patch(f"/api/courses/{public.id}", json={}, headers=_h(instructor)).status_code == 422
    assert (
        client.patch(f"/api/courses/{public.id}", json={"price": -5}, headers=_h(instructor)).status_code
        == 422
    )
    assert client.patch("/api/courses/999999", json={"title": "x"}, headers=_h(instructor)).status_code == 404
    db.session.expire_all()
    assert public.title != "x" and draft.title != "x"


def test_admin_updates_any_course(client, instructor, admin):
    course = make_course(instructor, status="pending")
    assert (
        client.patch(f"/api/courses/{course.id}", json={"description": ""}, headers=_h(admin)).status_code
        == 200
    )
    db.session.expire_all()
    assert course.description == "" and course.status == "pending"


def test_delete_cascades(client, instructor):
    course = make_course(instructor, status="draft", modules=2, lessons=2, quizzes=1)
    assert client.delete(f"/api/courses/{course.id}", headers=_h(instructor)).status_code == 204
    for model in (Course, Module, Lesson, Quiz):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0
    entry = db.session.execute(select(AuditLog)).scalar_one()
    assert entry.action == "course.delete" and entry.actor_id == instructor.id


def test_delete_with_enrollments(client, instructor, admin, student):
    course = make_course(instructor)
    enroll(student, course)
    resp = client.delete(f"/api/courses/{course.id}", headers=_h(instructor))
    assert resp.status_code == 409
    assert db.session.get(Course, course.id) is not None
    assert client.delete(f"/api/courses/{course.id}", headers=_h(admin)).status_code == 204
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 0
    assert db.session.scalar(select(func.count()).select_from(Course)) == 0


def test_delete_with_only_revoked_enrollment(client, instructor, student):
    course = make_course(instructor)
    enrollment = enroll(student, course)
    enrollment.status = "revoked"
    db.session.commit()
    assert client.delete(f"/api/courses/{course.id}", headers=_h(instructor)).status_code == 204


def test_delete_refusals(client, instructor, student):
    other = make_user("instructor")
    draft = make_course(instructor, status="draft")
    public = make_course(instructor)
    assert client.delete(f"/api/courses/{draft.id}").status_code == 401
    assert client.delete(f"/api/courses/{draft.id}", headers=_h(other)).status_code == 404
    assert client.delete(f"/api/courses/{public.id}", headers=_h(other)).status_code == 403
    assert client.delete(f"/api/courses/{public.id}", headers=_h(student)).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Course)) == 2


# ---- workflow ------------------------------------------------------------------------------


def test_submit_workflow(client, instructor):
    empty = client.post("/api/courses", json=NEW, headers=_h(instructor)).get_json()
    resp = client.post(f"/api/courses/{empty['id']}/submit", headers=_h(instructor))
    assert resp.status_code == 409 and "lesson" in resp.get_json()["message"]
    client.post(f"/api/courses/{empty['id']}/modules", json={"title": "M"}, headers=_h(instructor))
    assert client.post(f"/api/courses/{empty['id']}/submit", headers=_h(instructor)).status_code == 409
    module = db.session.execute(select(Module)).scalar_one()
    client.post(
        f"/api/modules/{module.id}/lessons",
        json={"title": "L", "video_url": "https://v.example/1"},
        headers=_h(instructor),
    )
    resp = client.post(f"/api/courses/{empty['id']}/submit", headers=_h(instructor))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "pending" and body["submitted_at"]
    # pending -> pending is an illegal transition
    assert client.post(f"/api/courses/{empty['id']}/submit", headers=_h(instructor)).status_code == 409


@pytest.mark.parametrize(
    "status,code", [("draft", 200), ("rejected", 200), ("pending", 409), ("approved", 409)]
)
def test_submit_from_each_status(client, instructor, status, code):
    course = make_course(instructor, status=status)
    course.rejection_reason = "too short" if status == "rejected" else None
    db.session.commit()
    resp = client.post(f"/api/courses/{course.id}/submit", headers=_h(instructor))
    assert resp.status_code == code
    db.session.expire_all()
    assert course.status == ("pending" if code == 200 else status)
    if status == "rejected":
        assert course.rejection_reason is None


def test_submit_refusals(client, instructor, student):
    other = make_user("instructor")
    draft = make_course(instructor, status="draft")
    assert client.post(f"/api/courses/{draft.id}/submit").status_code == 401
    assert client.post(f"/api/courses/{draft.id}/submit", headers=_h(student)).status_code == 403
    assert client.post(f"/api/courses/{draft.id}/submit", headers=_h(other)).status_code == 404


# ---- catalogue -----------------------------------------------------------------------------


@pytest.fixture
def catalogue(instructor):
    other = make_user("instructor", name="Other Teacher")
    courses = {
        "py": make_course(
            instructor,
            title="Python for Data",
            domain="data-science",
            price=0,
            description="pandas and numpy",
        ),
        "ml": make_course(
            instructor,
            title="Machine Learning",
            domain="data-science",
            price=99900,
            description="models in python",
        ),
        "css": make_course(
            other, title="CSS Layout", domain="design", price=49900, description="grid and flexbox"
        ),
        "draft": make_course(other, title="Python Drafts", domain="data-science", status="draft"),
        "pending": make_course(other, title="Python Pending", domain="design", status="pending"),
    }
    courses["css"].enrollment_count = 5
    courses["ml"].enrollment_count = 2
    db.session.commit()
    return courses


def _titles(resp):
    assert resp.status_code == 200, resp.get_json()
    return [c["title"] for c in resp.get_json()["items"]]


def test_catalogue_only_approved_newest_first(client, catalogue):
    resp = client.get("/api/courses")
    assert _titles(resp) == ["CSS Layout", "Machine Learning", "Python for Data"]
    body = resp.get_json()
    assert (body["page"], body["per_page"], body["total"], body["pages"]) == (1, 20, 3, 1)
    assert 'rel="first"' in resp.headers["Link"]
    item = body["items"][0]
    assert item["instructor"]["name"] == "Other Teacher" and item["status"] == "approved"
    assert "modules" not in item


def test_catalogue_filters(client, catalogue, instructor):
    assert _titles(client.get("/api/courses?domain=data-science")) == ["Machine Learning", "Python for Data"]
    assert _titles(client.get("/api/courses?domain=cooking")) == []
    assert _titles(client.get(f"/api/courses?instructor_id={instructor.id}")) == [
        "Machine Learning",
        "Python for Data",
    ]
    assert _titles(client.get("/api/courses?min_price=1")) == ["CSS Layout", "Machine Learning"]
    assert _titles(client.get("/api/courses?max_price=49900")) == ["CSS Layout", "Python for Data"]
    assert _titles(client.get("/api/courses?min_price=49900&max_price=49900")) == ["CSS Layout"]
    assert _titles(client.get("/api/courses?sort=price")) == [
        "Python for Data",
        "CSS Layout",
        "Machine Learning",
    ]
    assert _titles(client.get("/api/courses?sort=popular")) == [
        "CSS Layout",
        "Machine Learning",
        "Python for Data",
    ]


def test_catalogue_full_text_search(client, catalogue):
    # Stemming: "models" matches "model"; title and description both searched; drafts never.
    assert _titles(client.get("/api/courses?q=python")) == ["Machine Learning", "Python for Data"]
    assert _titles(client.get("/api/courses?q=model")) == ["Machine Learning"]
    assert _titles(client.get("/api/courses?q=flexbox%20grid")) == ["CSS Layout"]
    assert _titles(client.get("/api/courses?q=python&domain=design")) == []
    assert _titles(client.get("/api/courses?q=%25%27%3B--")) == []
    assert _titles(client.get("/api/courses?q=%20%20")) == [
        "CSS Layout",
        "Machine Learning",
        "Python for Data",
    ]


def test_catalogue_pagination(client, instructor):
    for i in range(5):
        make_course(instructor, title=f"C{i}", lessons=0, modules=0)
    resp = client.get("/api/courses?per_page=2&page=2")
    assert _titles(resp) == ["C2", "C1"]
    assert resp.get_json()["pages"] == 3
    assert 'rel="next"' in resp.headers["Link"] and 'rel="prev"' in resp.headers["Link"]
    assert _titles(client.get("/api/courses?per_page=2&page=9")) == []


@pytest.mark.parametrize(
    "query",
    [
        "sort=cheapest",
        "per_page=1000",
        "per_page=0",
        "page=0",
        "min_price=-1",
        "max_price=abc",
        "min_price=500&max_price=100",
        "domain=Data%20Science",
        "instructor_id=0",
        "q=" + "x" * 201,
    ],
)
def test_catalogue_bad_filters(client, query):
    resp = client.get(f"/api/courses?{query}")
    assert resp.status_code == 422
    assert resp.get_json()["code"] == 422


def test_domains(client, catalogue):
    resp = client.get("/api/courses/domains")
    assert resp.status_code == 200
    assert resp.get_json() == {
        "items": [{"domain": "data-science", "count": 2}, {"domain": "design", "count": 1}],
        "total": 2,
    }


# ---- instructor dashboard ------------------------------------------------------------------


def test_instructor_courses(client, instructor, student):
    paid = make_course(instructor, price=1000, title="Paid")
    draft = make_course(instructor, status="draft", title="Draft")
    make_course(make_user("instructor"), title="Not mine")
    enroll(student, paid)
    other_student = make_user("student")
    enrollment = enroll(other_student, paid)
    enrollment.status = "revoked"
    for n, status in enumerate(["paid", "paid", "refunded", "created", "failed"]):
        db.session.add(
            Payment(
                user_id=student.id,
                course_id=paid.id,
                amount=1000,
                currency="INR",
                receipt=f"r{n}",
                order_id=f"o{n}",
                status=status,
            )
        )
    db.session.commit()
    resp = client.get("/api/instructor/courses", headers=_h(instructor))
    assert resp.status_code == 200
    items = {c["title"]: c for c in resp.get_json()["items"]}
    assert set(items) == {"Paid", "Draft"}
    assert (items["Paid"]["enrollments"], items["Paid"]["revenue"]) == (1, 2000)
    assert (items["Draft"]["enrollments"], items["Draft"]["revenue"], items["Draft"]["status"]) == (
        0,
        0,
        "draft",
    )
    only = client.get("/api/instructor/courses?status=draft", headers=_h(instructor)).get_json()
    assert [c["id"] for c in only["items"]] == [draft.id]
    assert client.get("/api/instructor/courses?status=nope", headers=_h(instructor)).status_code == 422
    assert client.get("/api/instructor/courses", headers=_h(student)).status_code == 403
    assert client.get("/api/instructor/courses").status_code == 401
