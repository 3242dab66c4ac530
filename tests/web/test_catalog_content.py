"""Outlines, modules and lessons: visibility per caller, dense positions, URL rules."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from common.catalog.models import Lesson, Module
from common.db import db
from common.learning.models import LessonProgress
from common.quizzes.models import Quiz
from tests.factories import auth_headers, enroll, make_course, make_user

URL_KEYS = {"video_url", "materials_url", "subtitle_url"}


def _h(user):
    return auth_headers(user) if user else {}


def _positions(model, parent_col, parent_id):
    rows = db.session.execute(
        select(model.title, model.position).where(parent_col == parent_id).order_by(model.position)
    ).all()
    return [(title, pos) for title, pos in rows]


# ---- outline -------------------------------------------------------------------------------


@pytest.fixture
def world(instructor):
    course = make_course(instructor, modules=2, lessons=2, quizzes=1)
    enrolled = make_user("student")
    enroll(enrolled, course)
    return {
        "course": course,
        "owner": instructor,
        "enrolled": enrolled,
        "student": make_user("student"),
        "other": make_user("instructor"),
        "admin": make_user("admin"),
    }


@pytest.mark.parametrize(
    "who,urls",
    [
        (None, False),
        ("student", False),
        ("other", False),
        ("enrolled", True),
        ("owner", True),
        ("admin", True),
    ],
)
def test_outline_urls_per_caller(client, world, who, urls):
    resp = client.get(f"/api/courses/{world['course'].id}", headers=_h(world.get(who)))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["content_access"] is urls
    assert [m["title"] for m in body["modules"]] == ["Module 1", "Module 2"]
    lessons = body["modules"][1]["lessons"]
    assert [lesson["title"] for lesson in lessons] == ["Lesson 2.1", "Lesson 2.2"]
    assert bool(URL_KEYS & set(lessons[0])) is urls
    if urls:
        assert lessons[0]["video_url"].startswith("https://")
    assert "correct_option" not in resp.get_data(as_text=True)


@pytest.mark.parametrize("status", ["draft", "pending", "rejected"])
def test_unpublished_outline_only_for_owner_and_admin(client, world, status):
    course = make_course(world["owner"], status=status)
    for who in (None, "student", "other", "enrolled"):
        assert client.get(f"/api/courses/{course.id}", headers=_h(world.get(who))).status_code == 404
        assert client.get(f"/api/courses/{course.id}/modules", headers=_h(world.get(who))).status_code == 404
    for who in ("owner", "admin"):
        resp = client.get(f"/api/courses/{course.id}", headers=_h(world[who]))
        assert resp.status_code == 200 and resp.get_json()["status"] == status
        assert resp.get_json()["content_access"] is True


def test_unknown_course(client, world):
    assert client.get("/api/courses/424242").status_code == 404
    assert client.get("/api/courses/424242", headers=_h(world["admin"])).status_code == 404


def test_list_modules(client, world):
    resp = client.get(f"/api/courses/{world['course'].id}/modules")
    assert resp.status_code == 200
    assert [(m["title"], m["position"]) for m in resp.get_json()["items"]] == [
        ("Module 1", 0),
        ("Module 2", 1),
    ]


@pytest.mark.parametrize(
    "who,urls", [(None, False), ("student", False), ("enrolled", True), ("owner", True), ("admin", True)]
)
def test_list_lessons(client, world, who, urls):
    module = world["course"].modules[0]
    resp = client.get(f"/api/modules/{module.id}/lessons", headers=_h(world.get(who)))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["content_access"] is urls and body["total"] == 2
    assert bool(URL_KEYS & set(body["items"][0])) is urls


def test_list_lessons_of_hidden_course(client, world):
    draft = make_course(world["owner"], status="draft")
    module = draft.modules[0]
    assert client.get(f"/api/modules/{module.id}/lessons", headers=_h(world["other"])).status_code == 404
    assert client.get("/api/modules/999999/lessons").status_code == 404
    assert client.get(f"/api/modules/{module.id}/lessons", headers=_h(world["owner"])).status_code == 200


@pytest.mark.parametrize(
    "who,code",
    [(None, 401), ("student", 403), ("other", 403), ("enrolled", 200), ("owner", 200), ("admin", 200)],
)
def test_get_lesson(client, world, who, code):
    lesson = world["course"].modules[0].lessons[0]
    resp = client.get(f"/api/lessons/{lesson.id}", headers=_h(world.get(who)))
    assert resp.status_code == code
    if code == 200:
        assert resp.get_json()["video_url"] == lesson.video_url


def test_get_lesson_of_hidden_course(client, world):
    draft = make_course(world["owner"], status="pending")
    lesson = draft.modules[0].lessons[0]
    assert client.get(f"/api/lessons/{lesson.id}", headers=_h(world["student"])).status_code == 404
    assert client.get("/api/lessons/999999", headers=_h(world["owner"])).status_code == 404


# ---- modules -------------------------------------------------------------------------------


def test_module_insert_move_delete_keep_positions_dense(client, instructor):
    course = make_course(instructor, status="draft", modules=3, lessons=1)
    url = f"/api/courses/{course.id}/modules"
    h = _h(instructor)
    resp = client.post(url, json={"title": "Intro"}, headers=h)
    assert resp.status_code == 201 and resp.get_json()["position"] == 3
    assert client.post(url, json={"title": "First", "position": 0}, headers=h).get_json()["position"] == 0
    assert client.post(url, json={"title": "Far", "position": 99}, headers=h).get_json()["position"] == 5
    assert _positions(Module, Module.course_id, course.id) == [
        ("First", 0),
        ("Module 1", 1),
        ("Module 2", 2),
        ("Module 3", 3),
        ("Intro", 4),
        ("Far", 5),
    ]
    first = db.session.execute(select(Module).where(Module.title == "First")).scalar_one()
    # move down, then up, then past the end (clamped), then rename only
    resp = client.patch(f"/api/modules/{first.id}", json={"position": 3}, headers=h)
    assert resp.status_code == 200 and resp.get_json()["position"] == 3
    assert [t for t, _ in _positions(Module, Module.course_id, course.id)] == [
        "Module 1",
        "Module 2",
        "Module 3",
        "First",
        "Intro",
        "Far",
    ]
    far = db.session.execute(select(Module).where(Module.title == "Far")).scalar_one()
    client.patch(f"/api/modules/{far.id}", json={"position": 1, "title": "Far away"}, headers=h)
    assert [t for t, _ in _positions(Module, Module.course_id, course.id)] == [
        "Module 1",
        "Far away",
        "Module 2",
        "Module 3",
        "First",
        "Intro",
    ]
    assert (
        client.patch(f"/api/modules/{far.id}", json={"position": 50}, headers=h).get_json()["position"] == 5
    )
    assert (
        client.patch(f"/api/modules/{far.id}", json={"title": "Last"}, headers=h).get_json()["position"] == 5
    )
    m2 = db.session.execute(select(Module).where(Module.title == "Module 2")).scalar_one()
    assert client.delete(f"/api/modules/{m2.id}", headers=h).status_code == 204
    assert _positions(Module, Module.course_id, course.id) == [
        ("Module 1", 0),
        ("Module 3", 1),
        ("First", 2),
        ("Intro", 3),
        ("Last", 4),
    ]
    # the module's lesson and quizzes went with it
    assert db.session.scalar(select(func.count()).select_from(Lesson).where(Lesson.module_id == m2.id)) == 0


def test_module_bad_input(client, instructor):
    course = make_course(instructor, status="draft")
    module = course.modules[0]
    h = _h(instructor)
    for body in (
        {},
        {"title": ""},
        {"title": "x", "position": -1},
        {"title": "x", "position": "1"},
        {"title": "x", "course_id": 5},
    ):
        assert client.post(f"/api/courses/{course.id}/modules", json=body, headers=h).status_code == 422, body
    for body in ({}, {"position": -3}, {"title": " "}):
        assert client.patch(f"/api/modules/{module.id}", json=body, headers=h).status_code == 422, body
    assert client.post(f"/api/courses/{course.id}/modules", data="not json", headers=h).status_code in (
        400,
        415,
        422,
    )


def test_module_refusals(client, world):
    course, module = world["course"], world["course"].modules[0]
    for who, code in ((None, 401), ("student", 403), ("enrolled", 403), ("other", 403)):
        h = _h(world.get(who))
        assert (
            client.post(f"/api/courses/{course.id}/modules", json={"title": "x"}, headers=h).status_code
            == code
        )
        assert client.patch(f"/api/modules/{module.id}", json={"title": "x"}, headers=h).status_code == code
        assert client.delete(f"/api/modules/{module.id}", headers=h).status_code == code
    draft = make_course(world["owner"], status="draft")
    h = _h(world["other"])
    assert client.post(f"/api/courses/{draft.id}/modules", json={"title": "x"}, headers=h).status_code == 404
    assert (
        client.patch(f"/api/modules/{draft.modules[0].id}", json={"title": "x"}, headers=h).status_code == 404
    )
    assert client.delete("/api/modules/999999", headers=_h(world["owner"])).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Module)) == 3
    # admins may edit anyone's content
    assert (
        client.patch(
            f"/api/modules/{module.id}", json={"title": "By admin"}, headers=_h(world["admin"])
        ).status_code
        == 200
    )


# ---- lessons -------------------------------------------------------------------------------


def test_lesson_insert_move_delete_keep_positions_dense(client, instructor):
    course = make_course(instructor, status="draft", modules=1, lessons=3)
    module = course.modules[0]
    h = _h(instructor)
    url = f"/api/modules/{module.id}/lessons"
    resp = client.post(
        url,
        json={
            "title": "Welcome",
            "video_url": "http://v.example/w",
            "position": 0,
            "materials_url": "https://f.example/w.pdf",
            "subtitle_url": None,
            "duration_seconds": 90,
        },
        headers=h,
    )
    assert resp.status_code == 201
    body = resp.get_json()
    assert (body["position"], body["course_id"], body["duration_seconds"]) == (0, course.id, 90)
    lesson = db.session.get(Lesson, body["id"])
    assert lesson.materials_url == "https://f.example/w.pdf" and lesson.module_id == module.id
    client.post(url, json={"title": "Wrap-up", "video_url": "https://v.example/z"}, headers=h)
    assert [t for t, _ in _positions(Lesson, Lesson.module_id, module.id)] == [
        "Welcome",
        "Lesson 1.1",
        "Lesson 1.2",
        "Lesson 1.3",
        "Wrap-up",
    ]
    resp = client.patch(f"/api/lessons/{lesson.id}", json={"position": 2, "title": "Hello"}, headers=h)
    assert resp.status_code == 200 and resp.get_json()["position"] == 2
    assert _positions(Lesson, Lesson.module_id, module.id) == [
        ("Lesson 1.1", 0),
        ("Lesson 1.2", 1),
        ("Hello", 2),
        ("Lesson 1.3", 3),
        ("Wrap-up", 4),
    ]
    resp = client.patch(
        f"/api/lessons/{lesson.id}",
        json={"video_url": "https://v.example/new", "materials_url": None},
        headers=h,
    )
    assert (
        resp.get_json()["video_url"] == "https://v.example/new" and resp.get_json()["materials_url"] is None
    )
    first = db.session.execute(select(Lesson).where(Lesson.title == "Lesson 1.1")).scalar_one()
    assert client.delete(f"/api/lessons/{first.id}", headers=h).status_code == 204
    assert _positions(Lesson, Lesson.module_id, module.id) == [
        ("Lesson 1.2", 0),
        ("Hello", 1),
        ("Lesson 1.3", 2),
        ("Wrap-up", 3),
    ]


@pytest.mark.parametrize(
    "field,value",
    [
        ("video_url", "javascript:alert(1)"),
        ("video_url", "ftp://files.example/x.mp4"),
        ("video_url", "/relative"),
        ("video_url", None),
        ("materials_url", "data:text/html,hi"),
        ("subtitle_url", "file:///etc/passwd"),
        ("video_url", "https://v.example/" + "a" * 2100),
        ("duration_seconds", -1),
        ("title", ""),
        ("position", -1),
    ],
)
def test_lesson_bad_input(client, instructor, field, value):
    course = make_course(instructor, status="draft")
    module, lesson = course.modules[0], course.modules[0].lessons[0]
    body = {"title": "L", "video_url": "https://v.example/1", field: value}
    resp = client.post(f"/api/modules/{module.id}/lessons", json=body, headers=_h(instructor))
    assert resp.status_code == 422 and field in resp.get_json()["errors"]["json"]
    resp = client.patch(f"/api/lessons/{lesson.id}", json={field: value}, headers=_h(instructor))
    assert resp.status_code == 422
    db.session.expire_all()
    assert lesson.video_url.startswith("https://video.example.com/")


def test_lesson_refusals(client, world):
    module = world["course"].modules[0]
    lesson = module.lessons[0]
    new = {"title": "x", "video_url": "https://v.example/x"}
    for who, code in ((None, 401), ("student", 403), ("enrolled", 403), ("other", 403)):
        h = _h(world.get(who))
        assert client.post(f"/api/modules/{module.id}/lessons", json=new, headers=h).status_code == code
        assert client.patch(f"/api/lessons/{lesson.id}", json={"title": "x"}, headers=h).status_code == code
        assert client.delete(f"/api/lessons/{lesson.id}", headers=h).status_code == code
    draft = make_course(world["owner"], status="draft")
    h = _h(world["other"])
    assert client.post(f"/api/modules/{draft.modules[0].id}/lessons", json=new, headers=h).status_code == 404
    assert client.delete(f"/api/lessons/{draft.modules[0].lessons[0].id}", headers=h).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Lesson)) == 6
    assert client.delete(f"/api/lessons/{lesson.id}", headers=_h(world["admin"])).status_code == 204


def test_delete_lesson_drops_progress(client, world):
    lesson = world["course"].modules[0].lessons[0]
    db.session.add(
        LessonProgress(user_id=world["enrolled"].id, lesson_id=lesson.id, course_id=world["course"].id)
    )
    db.session.commit()
    assert client.delete(f"/api/lessons/{lesson.id}", headers=_h(world["owner"])).status_code == 204
    assert db.session.scalar(select(func.count()).select_from(LessonProgress)) == 0


def test_delete_module_drops_quizzes(client, world):
    module = world["course"].modules[0]
    assert client.delete(f"/api/modules/{module.id}", headers=_h(world["owner"])).status_code == 204
    assert db.session.scalar(select(func.count()).select_from(Quiz)) == 1
    assert _positions(Module, Module.course_id, world["course"].id) == [("Module 2", 0)]
