"""Catalog service: the review workflow, positions under concurrency, validation, and the SQLite default."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from common.admin.models import AuditLog
from common.catalog import service
from common.catalog.models import Course, Module
from common.db import db
from common.errors import InvalidState, NotFound, ValidationError
from tests.embedded import run_on_sqlite
from tests.factories import make_course

# ---- review workflow -----------------------------------------------------------------------


def test_approve_pending(instructor, admin):
    course = make_course(instructor, status="pending")
    course.rejection_reason = "old"
    db.session.commit()
    result = service.approve_course(actor_id=admin.id, course_id=course.id)
    assert result.status == "approved" and result.approved_at is not None and result.rejection_reason is None
    entry = db.session.execute(select(AuditLog)).scalar_one()
    assert (entry.action, entry.actor_id, entry.object_type, entry.object_id) == (
        "course.approve",
        admin.id,
        "course",
        str(course.id),
    )


def test_reject_pending_with_reason(instructor, admin):
    course = make_course(instructor, status="pending")
    result = service.reject_course(actor_id=admin.id, course_id=course.id, reason="Audio is missing")
    assert (result.status, result.rejection_reason) == ("rejected", "Audio is missing")
    entry = db.session.execute(select(AuditLog)).scalar_one()
    assert entry.action == "course.reject" and entry.detail == {"reason": "Audio is missing"}


@pytest.mark.parametrize("status", ["draft", "approved", "rejected"])
@pytest.mark.parametrize("review", ["approve", "reject"])
def test_review_only_from_pending(instructor, admin, status, review):
    course = make_course(instructor, status=status)
    with pytest.raises(InvalidState):
        if review == "approve":
            service.approve_course(actor_id=admin.id, course_id=course.id)
        else:
            service.reject_course(actor_id=admin.id, course_id=course.id)
    db.session.rollback()
    assert db.session.get(Course, course.id).status == status
    assert db.session.execute(select(AuditLog)).first() is None


def test_review_unknown_course(admin):
    with pytest.raises(NotFound):
        service.approve_course(actor_id=admin.id, course_id=424242)


def test_full_cycle_rejected_then_resubmitted(instructor, admin):
    course = make_course(instructor, status="draft")
    service.submit_course(course_id=course.id, user_id=instructor.id, role="instructor")
    service.reject_course(actor_id=admin.id, course_id=course.id, reason="Too short")
    service.update_course(
        course_id=course.id, user_id=instructor.id, role="instructor", title="Longer course"
    )
    assert db.session.get(Course, course.id).status == "rejected"
    service.submit_course(course_id=course.id, user_id=instructor.id, role="instructor")
    approved = service.approve_course(actor_id=admin.id, course_id=course.id)
    assert approved.status == "approved" and approved.title == "Longer course"


# ---- validation in the service (callers other than the API) --------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"domain": "Bad Domain"},
        {"price": -1},
        {"currency": "usd"},
        {"title": " "},
    ],
)
def test_create_course_validates(instructor, values):
    params = {"title": "T", "domain": "web", "price": 0, "currency": "INR", **values}
    with pytest.raises(ValidationError):
        service.create_course(instructor_id=instructor.id, **params)


def test_update_course_rejects_unknown_fields(instructor):
    course = make_course(instructor)
    with pytest.raises(ValidationError):
        service.update_course(
            course_id=course.id, user_id=instructor.id, role="instructor", status="approved"
        )


def test_lesson_urls_validated_by_service(instructor):
    course = make_course(instructor, status="draft")
    module = course.modules[0]
    for bad in ("javascript:alert(1)", "ftp://x.example/a", "https://"):
        with pytest.raises(ValidationError):
            service.create_lesson(
                module_id=module.id, user_id=instructor.id, role="instructor", title="x", video_url=bad
            )
    with pytest.raises(ValidationError):
        service.update_lesson(
            lesson_id=module.lessons[0].id, user_id=instructor.id, role="instructor", video_url=None
        )
    with pytest.raises(ValidationError):
        service.update_lesson(
            lesson_id=module.lessons[0].id, user_id=instructor.id, role="instructor", module_id=5
        )
    for bad in ({"duration_seconds": -1}, {"title": "  "}):
        with pytest.raises(ValidationError) as info:
            service.update_lesson(
                lesson_id=module.lessons[0].id, user_id=instructor.id, role="instructor", **bad
            )
        assert set(info.value.errors["json"]) == set(bad)


def test_search_validates_sort_and_range():
    with pytest.raises(ValidationError):
        service.search_catalogue(sort="random")
    with pytest.raises(ValidationError):
        service.search_catalogue(min_price=10, max_price=5)


def test_search_uses_the_gin_index(instructor):
    """The service's search expression is the indexed one, so PostgreSQL can use ix_courses_search."""
    make_course(instructor, title="Python", description="snakes")
    db.session.execute(db.text("SET LOCAL enable_seqscan = off"))
    sql = (
        "EXPLAIN SELECT id FROM courses WHERE "
        + str(service._SEARCH_VECTOR)
        + " @@ plainto_tsquery('english', 'python')"
    )
    plan = "\n".join(row[0] for row in db.session.execute(db.text(sql)))
    db.session.rollback()
    assert "ix_courses_search" in plan


# ---- positions under concurrency -----------------------------------------------------------


def test_concurrent_module_inserts_stay_dense(app, instructor):
    course = make_course(instructor, status="draft", modules=2, lessons=0)
    # Plain ids only: touching the main session's objects from threads is not allowed.
    course_id, instructor_id = course.id, instructor.id
    errors = []

    def add(n):
        with app.app_context():
            try:
                service.create_module(
                    course_id=course_id,
                    user_id=instructor_id,
                    role="instructor",
                    title=f"Concurrent {n}",
                    position=0 if n % 2 else None,
                )
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=add, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    positions = (
        db.session.execute(
            select(Module.position).where(Module.course_id == course.id).order_by(Module.position)
        )
        .scalars()
        .all()
    )
    assert positions == list(range(8))


def test_move_module_service(instructor):
    course = make_course(instructor, status="draft", modules=4, lessons=0)
    ids = [m.id for m in course.modules]
    moved = service.update_module(module_id=ids[0], user_id=instructor.id, role="instructor", position=2)
    assert moved.position == 2
    order = (
        db.session.execute(select(Module.id).where(Module.course_id == course.id).order_by(Module.position))
        .scalars()
        .all()
    )
    assert order == [ids[1], ids[2], ids[0], ids[3]]
    same = service.update_module(module_id=ids[3], user_id=instructor.id, role="instructor", position=3)
    assert same.position == 3


# ---- the SQLite embedded default -----------------------------------------------------------

SQLITE_SCRIPT = r"""
from web.app import create_app
from common.db import db
from common.accounts.models import User
from common.catalog import service
from common.catalog.models import Module, Lesson

app = create_app()
with app.app_context():
    db.create_all()
    user = User(email="i@example.com", name="I", role="instructor", password_hash="x")
    db.session.add(user); db.session.commit()
    course = service.create_course(instructor_id=user.id, title="Pandas 100%", domain="data",
                                   description="dataframes")
    for title in ("a", "b", "c"):
        service.create_module(course_id=course.id, user_id=user.id, role="instructor", title=title)
    first = service.create_module(
        course_id=course.id, user_id=user.id, role="instructor", title="z", position=0
    )
    service.update_module(module_id=first.id, user_id=user.id, role="instructor", position=3)
    mods = db.session.execute(db.select(Module).where(Module.course_id == course.id)
                              .order_by(Module.position)).scalars().all()
    assert [(m.title, m.position) for m in mods] == [("a", 0), ("b", 1), ("c", 2), ("z", 3)], mods
    service.delete_module(module_id=mods[1].id, user_id=user.id, role="instructor")
    service.create_lesson(module_id=mods[0].id, user_id=user.id, role="instructor", title="L",
                          video_url="https://v.example/1")
    service.submit_course(course_id=course.id, user_id=user.id, role="instructor")
    service.approve_course(actor_id=user.id, course_id=course.id)
    assert [c.title for c in service.search_catalogue(q="FRAME").items] == ["Pandas 100%"]
    assert [c.title for c in service.search_catalogue(q="100%").items] == ["Pandas 100%"]
    assert service.search_catalogue(q="_").items == []
    client = app.test_client()
    assert client.get("/api/courses?q=pandas").get_json()["total"] == 1
    assert client.get(f"/api/courses/{course.id}").get_json()["modules"][0]["lessons"][0]["title"] == "L"
    print("ok")
"""


def test_sqlite_embedded_default(tmp_path):
    result = run_on_sqlite(SQLITE_SCRIPT, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
