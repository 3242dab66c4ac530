"""GET /me/xp, /me/badges and /badges over HTTP."""

from __future__ import annotations

from sqlalchemy import select, update

from common.db import db
from common.gamification import service
from common.gamification.models import Badge, XpEvent
from tests.factories import auth_headers, enroll, make_course, make_quiz


def test_me_xp_needs_a_token(client):
    response = client.get("/api/me/xp")
    assert response.status_code == 401 and response.get_json()["code"] == 401
    assert client.get("/api/me/badges").status_code == 401
    assert client.get("/api/me/xp", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_me_xp_after_a_lesson_and_a_quiz(client, student, instructor):
    course = make_course(instructor, lessons=2, domain="design")
    enroll(student, course)
    lesson = course.modules[0].lessons[0]
    quiz = make_quiz(course.modules[0], question="Which one?")
    headers = auth_headers(student)
    assert client.post(f"/api/lessons/{lesson.id}/complete", headers=headers).status_code == 200
    assert client.post(
        f"/api/quizzes/{quiz.id}/attempts", json={"selected_option": 0}, headers=headers
    ).status_code in (200, 201)
    body = client.get("/api/me/xp", headers=headers).get_json()
    assert body["total"] == 30 and body["this_week"] == 30 and body["this_month"] == 30
    assert body["by_type"] == {
        "lesson_complete": {"points": 10, "count": 1},
        "quiz_pass": {"points": 20, "count": 1},
        "forum_post": {"points": 0, "count": 0},
    }
    assert body["streak_days"] == 1
    first, second = body["recent"]
    assert first["type"] == "quiz_pass" and first["source"] == {
        "kind": "quiz",
        "id": quiz.id,
        "title": "Which one?",
        "course_id": course.id,
    }
    assert second["source"]["kind"] == "lesson" and second["source"]["title"] == lesson.title
    assert second["timestamp"].endswith("Z")
    # What the database holds behind the answer.
    assert sorted(db.session.execute(select(XpEvent.type, XpEvent.domain)).all()) == [
        ("lesson_complete", "design"),
        ("quiz_pass", "design"),
    ]


def test_me_xp_lists_the_twenty_most_recent(client, student):
    for source in range(25):
        service.award_xp(user_id=student.id, type="lesson_complete", source_id=source)
    db.session.commit()
    body = client.get("/api/me/xp", headers=auth_headers(student)).get_json()
    assert len(body["recent"]) == 20 and body["total"] == 250
    assert body["recent"][0]["source"]["title"] is None  # a source that no longer exists


def test_me_xp_with_nothing_earned(client, student):
    body = client.get("/api/me/xp", headers=auth_headers(student)).get_json()
    assert body["total"] == 0 and body["recent"] == [] and body["streak_days"] == 0 and body["this_week"] == 0


def test_me_badges(client, student):
    service.award_xp(user_id=student.id, type="forum_post", source_id=1)
    db.session.commit()
    body = client.get("/api/me/badges", headers=auth_headers(student)).get_json()
    assert [b["code"] for b in body["earned"]] == ["first-post"]
    assert body["earned"][0]["awarded_at"].endswith("Z")
    progress = {b["code"]: b for b in body["progress"]}
    assert (
        len(progress) == 9 and progress["xp-100"]["current"] == 5 and progress["xp-100"]["threshold"] == 100
    )
    assert progress["week-streak"]["current"] == 1


def test_badge_catalogue_is_public_and_cached(client):
    response = client.get("/api/badges")
    assert response.status_code == 200 and "public" in response.headers["Cache-Control"]
    body = response.get_json()
    assert body["total"] == 10 == len(body["items"])
    assert body["items"][0] == {
        "code": "first-lesson",
        "name": "First lesson",
        "description": "Complete your first lesson.",
        "criterion": "lesson_complete",
        "threshold": 1,
    }
    assert {"code": "helpful-answer", "criterion": "reply_upvotes", "threshold": 10}.items() <= {
        k: v for b in body["items"] if b["code"] == "helpful-answer" for k, v in b.items()
    }.items()
    db.session.execute(update(Badge).where(Badge.code == "first-lesson").values(name="Renamed"))
    db.session.commit()
    assert client.get("/api/badges").get_json()["items"][0]["name"] == "First lesson"  # served from the cache
