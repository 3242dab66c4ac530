"""Quiz listing (GET /modules/{id}/quizzes): every role, answers hidden from students, order."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from common.db import db
from common.learning.models import Enrollment
from tests.factories import make_quiz
from tests.web.quizzes_world import add_attempt, find_key, quiz_rows, world  # noqa: F401  (world is a fixture)


def test_find_key_finds_nested_keys():
    assert find_key({"items": [{"a": 1}, {"x": {"correct_option": 0}}]}, "correct_option")
    assert not find_key({"items": [{"a": 1}], "correct": 2}, "correct_option")


# --- GET /modules/{id}/quizzes ---------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owner_and_admin_list_with_answers(client, world, who):
    resp = client.get(f"/api/modules/{world['module'].id}/quizzes", headers=world["headers"][who])
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["total"] == 2 and body["page"] == 1 and body["pages"] == 1
    assert [q["question"] for q in body["items"]] == ["Q1?", "Q2?"]
    assert all(q["correct_option"] == 0 for q in body["items"])
    assert body["items"][0]["options"] == ["yes", "no", "maybe"]
    assert not find_key(body, "attempts_used")


def test_enrolled_student_lists_without_answers(client, world):
    resp = client.get(f"/api/modules/{world['module'].id}/quizzes", headers=world["headers"]["enrolled"])
    assert resp.status_code == 200
    body = resp.get_json()
    assert not find_key(body, "correct_option")
    assert "correct_option" not in resp.get_data(as_text=True)
    first = body["items"][0]
    assert first["options"] == ["yes", "no", "maybe"] and first["question"] == "Q1?"
    assert (first["attempts_used"], first["attempts_left"], first["passed"]) == (0, None, False)


def test_student_list_shows_own_standing_but_never_the_answer(client, world):
    quiz = make_quiz(world["module"], options=["a", "b"], correct_option=1, max_attempts=3)
    student = world["users"]["enrolled"]
    for selected, correct in ((0, False), (1, True)):
        add_attempt(quiz, student, selected=selected, correct=correct)
    # Someone else's attempts do not count towards this student's standing.
    other = world["users"]["stranger"]
    add_attempt(quiz, other, selected=0, correct=False)
    db.session.commit()
    body = client.get(
        f"/api/modules/{world['module'].id}/quizzes", headers=world["headers"]["enrolled"]
    ).get_json()
    assert not find_key(body, "correct_option")
    item = next(q for q in body["items"] if q["id"] == quiz.id)
    assert (item["attempts_used"], item["attempts_left"], item["passed"], item["max_attempts"]) == (
        2,
        1,
        True,
        3,
    )
    others = [q for q in body["items"] if q["id"] != quiz.id]
    assert all(q["attempts_used"] == 0 and not q["passed"] for q in others)


@pytest.mark.parametrize("who", ["other_instructor", "stranger"])
def test_list_refused_to_readers_who_are_not_enrolled(client, world, who):
    resp = client.get(f"/api/modules/{world['module'].id}/quizzes", headers=world["headers"][who])
    assert resp.status_code == 403
    assert not find_key(resp.get_json(), "correct_option")


def test_list_refused_after_enrollment_is_revoked(client, world):
    enrollment = db.session.execute(select(Enrollment)).scalar_one()
    enrollment.status = "revoked"
    db.session.commit()
    resp = client.get(f"/api/modules/{world['module'].id}/quizzes", headers=world["headers"]["enrolled"])
    assert resp.status_code == 403


def test_list_anonymous_is_401(client, world):
    assert client.get(f"/api/modules/{world['module'].id}/quizzes").status_code == 401


def test_list_unknown_module_is_404(client, world):
    resp = client.get("/api/modules/999999/quizzes", headers=world["headers"]["owner"])
    assert resp.status_code == 404 and resp.get_json()["code"] == 404


@pytest.mark.parametrize(
    "who, status",
    [("owner", 200), ("admin", 200), ("other_instructor", 404), ("enrolled", 404), ("stranger", 404)],
)
def test_list_of_an_unpublished_course(client, world, who, status):
    world["course"].status = "draft"
    db.session.commit()
    resp = client.get(f"/api/modules/{world['module'].id}/quizzes", headers=world["headers"][who])
    assert resp.status_code == status


def test_list_is_ordered_by_position_and_paginated(client, world):
    module = world["module"]
    make_quiz(module, question="First", position=0)  # ties with Q1 on position; id breaks the tie
    make_quiz(module, question="Last", position=50)
    url = f"/api/modules/{module.id}/quizzes"
    body = client.get(url, headers=world["headers"]["owner"]).get_json()
    assert [q["question"] for q in body["items"]] == ["Q1?", "First", "Q2?", "Last"]
    resp = client.get(url + "?per_page=3&page=2", headers=world["headers"]["enrolled"])
    page = resp.get_json()
    assert (page["total"], page["pages"], page["per_page"]) == (4, 2, 3)
    assert [q["question"] for q in page["items"]] == ["Last"]
    assert 'rel="prev"' in resp.headers["Link"] and not find_key(page, "correct_option")
    assert client.get(url + "?per_page=101", headers=world["headers"]["owner"]).status_code == 422
