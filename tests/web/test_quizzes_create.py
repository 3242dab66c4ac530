"""Quiz creation (POST /modules/{id}/quizzes): every role, validation, rows left behind."""

from __future__ import annotations

import pytest

from common.db import db
from common.quizzes.models import Quiz
from tests.factories import auth_headers, make_course, make_user
from tests.web.quizzes_world import VALID, quiz_rows, world  # noqa: F401  (world is a fixture)

# --- POST /modules/{id}/quizzes --------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_create_quiz(client, world, who):
    payload = {
        "question": "  Capital of France?  ",
        "options": [" Paris ", "Lyon", "Nice"],
        "correct_option": 0,
        "max_attempts": 2,
    }
    resp = client.post(
        f"/api/modules/{world['module'].id}/quizzes", json=payload, headers=world["headers"][who]
    )
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["question"] == "Capital of France?" and body["options"] == ["Paris", "Lyon", "Nice"]
    assert (body["correct_option"], body["max_attempts"], body["position"]) == (0, 2, 2)
    assert body["module_id"] == world["module"].id and body["course_id"] == world["course"].id
    assert body["created_at"].endswith("Z")
    row = db.session.get(Quiz, body["id"])
    assert (row.question, row.options, row.correct_option, row.max_attempts, row.course_id) == (
        "Capital of France?",
        ["Paris", "Lyon", "Nice"],
        0,
        2,
        world["course"].id,
    )


def test_create_with_position_and_unlimited_attempts(client, world):
    payload = {**VALID, "position": 7, "max_attempts": None}
    body = client.post(
        f"/api/modules/{world['module'].id}/quizzes", json=payload, headers=world["headers"]["owner"]
    ).get_json()
    assert body["position"] == 7 and body["max_attempts"] is None


def test_create_first_quiz_of_an_empty_module_is_position_0(client):
    owner = make_user("instructor")
    course = make_course(owner, quizzes=0)
    body = client.post(
        f"/api/modules/{course.modules[0].id}/quizzes", json=VALID, headers=auth_headers(owner)
    ).get_json()
    assert body["position"] == 0


@pytest.mark.parametrize("count", [2, 10])
def test_create_accepts_2_to_10_options(client, world, count):
    payload = {**VALID, "options": [f"option {i}" for i in range(count)], "correct_option": count - 1}
    resp = client.post(
        f"/api/modules/{world['module'].id}/quizzes", json=payload, headers=world["headers"]["owner"]
    )
    assert resp.status_code == 201 and len(resp.get_json()["options"]) == count


@pytest.mark.parametrize("who, status", [("other_instructor", 403), ("enrolled", 403), ("stranger", 403)])
def test_create_refused(client, world, who, status):
    resp = client.post(
        f"/api/modules/{world['module'].id}/quizzes", json=VALID, headers=world["headers"][who]
    )
    assert resp.status_code == status
    assert len(quiz_rows()) == 2


def test_create_anonymous_is_401(client, world):
    assert client.post(f"/api/modules/{world['module'].id}/quizzes", json=VALID).status_code == 401


def test_create_on_someone_elses_draft_course_is_404(client, world):
    world["course"].status = "pending"
    db.session.commit()
    resp = client.post(
        f"/api/modules/{world['module'].id}/quizzes", json=VALID, headers=world["headers"]["other_instructor"]
    )
    assert resp.status_code == 404


def test_create_on_unknown_module_is_404(client, world):
    resp = client.post("/api/modules/424242/quizzes", json=VALID, headers=world["headers"]["owner"])
    assert resp.status_code == 404


BAD_CREATES = {
    "missing question": {k: v for k, v in VALID.items() if k != "question"},
    "missing options": {k: v for k, v in VALID.items() if k != "options"},
    "missing correct_option": {k: v for k, v in VALID.items() if k != "correct_option"},
    "blank question": {**VALID, "question": "   "},
    "question too long": {**VALID, "question": "x" * 2001},
    "one option": {**VALID, "options": ["only"], "correct_option": 0},
    "no options": {**VALID, "options": [], "correct_option": 0},
    "eleven options": {**VALID, "options": [f"o{i}" for i in range(11)], "correct_option": 0},
    "empty option": {**VALID, "options": ["a", "", "c"]},
    "blank option": {**VALID, "options": ["a", "   ", "c"]},
    "option too long": {**VALID, "options": ["a", "b" * 501]},
    "number option": {**VALID, "options": ["a", 4, "c"]},
    "null option": {**VALID, "options": ["a", None, "c"]},
    "options not a list": {**VALID, "options": "a,b,c"},
    "duplicate options": {**VALID, "options": ["Yes", "yes ", "no"]},
    "correct_option out of range": {**VALID, "correct_option": 3},
    "correct_option negative": {**VALID, "correct_option": -1},
    "correct_option string": {**VALID, "correct_option": "1"},
    "correct_option bool": {**VALID, "correct_option": True},
    "correct_option float": {**VALID, "correct_option": 1.0},
    "correct_option null": {**VALID, "correct_option": None},
    "max_attempts zero": {**VALID, "max_attempts": 0},
    "max_attempts string": {**VALID, "max_attempts": "2"},
    "position negative": {**VALID, "position": -1},
    "unknown field": {**VALID, "course_id": 5},
}


@pytest.mark.parametrize("payload", BAD_CREATES.values(), ids=BAD_CREATES.keys())
def test_create_rejects_bad_input_with_422(client, world, payload):
    resp = client.post(
        f"/api/modules/{world['module'].id}/quizzes", json=payload, headers=world["headers"]["owner"]
    )
    assert resp.status_code == 422
    assert resp.get_json()["errors"]
    assert len(quiz_rows()) == 2


def test_create_with_a_non_json_body_is_a_clear_4xx(client, world):
    resp = client.post(
        f"/api/modules/{world['module'].id}/quizzes",
        data="not json",
        headers={**world["headers"]["owner"], "Content-Type": "application/json"},
    )
    assert resp.status_code == 400  # malformed JSON
    resp = client.post(
        f"/api/modules/{world['module'].id}/quizzes", json=[1, 2], headers=world["headers"]["owner"]
    )
    assert resp.status_code == 422  # well-formed JSON of the wrong shape: a validation error
    assert len(quiz_rows()) == 2
