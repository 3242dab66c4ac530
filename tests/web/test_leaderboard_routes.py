"""GET /api/leaderboard: validation, real time after a lesson, ties, `me`, suspended users absent."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from common.accounts.models import User
from common.db import db
from common.gamification import service
from tests.factories import auth_headers, enroll, make_course, make_user


@pytest.mark.parametrize(
    "query, field",
    [
        ("period=yearly", "period"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("domain=" + "x" * 65, "domain"),
        ("previous=maybe", "previous"),
    ],
)
def test_bad_queries_are_422(client, query, field):
    response = client.get("/api/leaderboard?" + query)
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == 422 and field in body["errors"]["query"]


def test_an_invalid_token_is_401(client):
    response = client.get("/api/leaderboard", headers={"Authorization": "Bearer not-a-jwt"})
    assert response.status_code == 401 and response.get_json()["code"] == 401


def test_empty_board(client, student):
    body = client.get("/api/leaderboard?period=monthly", headers=auth_headers(student)).get_json()
    assert body["items"] == [] and body["me"] == {"rank": None, "points": 0} and body["period"] == "monthly"
    assert body["domain"] == "" and body["period_start"].endswith("-01T00:00:00Z")


def test_a_completed_lesson_shows_on_the_board_at_once(client, student, instructor):
    course = make_course(instructor, lessons=1, domain="cloud")
    enroll(student, course)
    service.rebuild_leaderboards()  # the beat has run once this week
    headers = auth_headers(student)
    assert client.get("/api/leaderboard", headers=headers).get_json()["me"] == {"rank": None, "points": 0}
    assert (
        client.post(f"/api/lessons/{course.modules[0].lessons[0].id}/complete", headers=headers).status_code
        == 200
    )
    for query in ("period=weekly", "period=monthly", "period=weekly&domain=cloud"):
        body = client.get("/api/leaderboard?" + query, headers=headers).get_json()
        assert body["source"] == "redis"
        assert body["items"] == [{"rank": 1, "user": {"id": student.id, "name": student.name}, "points": 10}]
        assert body["me"] == {"rank": 1, "points": 10}
    assert client.get("/api/leaderboard?domain=design").get_json()["items"] == []


def test_anonymous_me_is_null_and_ties_share_a_rank(client):
    users = [make_user() for _ in range(4)]
    for user, quizzes in zip(users, [3, 2, 2, 1], strict=True):
        for source in range(quizzes):
            service.award_xp(user_id=user.id, type="quiz_pass", source_id=source)
    db.session.commit()
    service.rebuild_leaderboards()
    body = client.get("/api/leaderboard?limit=100").get_json()
    assert body["me"] is None
    assert [(i["rank"], i["points"]) for i in body["items"]] == [(1, 60), (2, 40), (2, 40), (4, 20)]


def test_me_outside_the_top_n(client):
    users = [make_user() for _ in range(12)]
    for n, user in enumerate(users):
        for source in range(n + 1):
            service.award_xp(user_id=user.id, type="lesson_complete", source_id=source)
    db.session.commit()
    service.rebuild_leaderboards()
    body = client.get("/api/leaderboard?limit=3", headers=auth_headers(users[0])).get_json()
    assert [i["user"]["id"] for i in body["items"]] == [users[11].id, users[10].id, users[9].id]
    assert body["me"] == {"rank": 12, "points": 10}
    default = client.get("/api/leaderboard").get_json()
    assert len(default["items"]) == 10


def test_suspended_users_and_admins_are_absent(client, admin):
    learner, suspended = make_user(), make_user()
    for user in (learner, suspended, admin):
        service.award_xp(user_id=user.id, type="quiz_pass", source_id=1)
    db.session.commit()
    db.session.execute(update(User).where(User.id == suspended.id).values(status="suspended"))
    db.session.commit()
    service.rebuild_leaderboards()
    body = client.get("/api/leaderboard", headers=auth_headers(admin)).get_json()
    assert [i["user"]["id"] for i in body["items"]] == [learner.id]
    assert body["me"] == {"rank": None, "points": 0}


def test_previous_period(client, student):
    body = client.get("/api/leaderboard?period=weekly&previous=true").get_json()
    current = client.get("/api/leaderboard?period=weekly").get_json()
    assert body["period_end"] == current["period_start"] and body["items"] == []


def test_openapi_documents_the_routes(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/api/me/xp", "/api/me/badges", "/api/badges", "/api/leaderboard"):
        assert paths[path]["get"]["summary"]
