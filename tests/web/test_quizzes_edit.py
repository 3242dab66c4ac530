"""Quiz editing and deletion (PATCH, DELETE /quizzes/{id}): every role, validation, results kept."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from common.admin.models import AuditLog
from common.db import db
from common.quizzes.models import Quiz, QuizResult
from tests.factories import make_quiz
from tests.web.quizzes_world import add_attempt, quiz_rows, world  # noqa: F401  (world is a fixture)

# --- PATCH /quizzes/{id} ---------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_update_quiz(client, world, who):
    quiz = quiz_rows()[0]
    resp = client.patch(
        f"/api/quizzes/{quiz.id}",
        json={"question": " New? ", "max_attempts": 4, "position": 9},
        headers=world["headers"][who],
    )
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["question"], body["max_attempts"], body["position"]) == ("New?", 4, 9)
    assert body["options"] == ["yes", "no", "maybe"] and body["correct_option"] == 0
    db.session.expire_all()
    assert (quiz.question, quiz.max_attempts, quiz.position) == ("New?", 4, 9)


def test_update_to_unlimited_attempts(client, world):
    quiz = make_quiz(world["module"], max_attempts=2)
    resp = client.patch(
        f"/api/quizzes/{quiz.id}", json={"max_attempts": None}, headers=world["headers"]["owner"]
    )
    assert resp.status_code == 200 and resp.get_json()["max_attempts"] is None


def test_update_options_keeping_the_answer_in_range(client, world):
    quiz = make_quiz(world["module"], options=["a", "b", "c"], correct_option=1)
    resp = client.patch(
        f"/api/quizzes/{quiz.id}", json={"options": ["A", "B"]}, headers=world["headers"]["owner"]
    )
    assert resp.status_code == 200
    assert resp.get_json()["options"] == ["A", "B"] and resp.get_json()["correct_option"] == 1


def test_update_options_that_orphan_the_answer_is_422(client, world):
    quiz = make_quiz(world["module"], options=["a", "b", "c"], correct_option=2)
    resp = client.patch(
        f"/api/quizzes/{quiz.id}", json={"options": ["a", "b"]}, headers=world["headers"]["owner"]
    )
    assert resp.status_code == 422
    assert "correct_option" in resp.get_json()["errors"]["json"]
    db.session.expire_all()
    assert quiz.options == ["a", "b", "c"] and quiz.correct_option == 2


def test_update_options_with_a_new_answer(client, world):
    quiz = make_quiz(world["module"], options=["a", "b", "c"], correct_option=2)
    resp = client.patch(
        f"/api/quizzes/{quiz.id}",
        json={"options": ["a", "b"], "correct_option": 0},
        headers=world["headers"]["owner"],
    )
    assert resp.status_code == 200
    db.session.expire_all()
    assert quiz.options == ["a", "b"] and quiz.correct_option == 0


BAD_UPDATES = {
    "empty body": {},
    "answer outside stored options": {"correct_option": 3},
    "answer outside new options": {"options": ["a", "b"], "correct_option": 2},
    "one option": {"options": ["a"]},
    "eleven options": {"options": [str(i) for i in range(11)]},
    "empty option": {"options": ["a", ""]},
    "blank question": {"question": " "},
    "null question": {"question": None},
    "null options": {"options": None},
    "string answer": {"correct_option": "0"},
    "max_attempts zero": {"max_attempts": 0},
    "position bool": {"position": True},
    "unknown field": {"module_id": 3},
}


@pytest.mark.parametrize("payload", BAD_UPDATES.values(), ids=BAD_UPDATES.keys())
def test_update_rejects_bad_input_with_422(client, world, payload):
    quiz = quiz_rows()[0]
    resp = client.patch(f"/api/quizzes/{quiz.id}", json=payload, headers=world["headers"]["owner"])
    assert resp.status_code == 422
    db.session.expire_all()
    assert (quiz.question, quiz.options, quiz.correct_option, quiz.max_attempts) == (
        "Q1?",
        ["yes", "no", "maybe"],
        0,
        None,
    )


@pytest.mark.parametrize("who", ["other_instructor", "enrolled", "stranger"])
def test_update_refused_with_403(client, world, who):
    quiz = quiz_rows()[0]
    resp = client.patch(
        f"/api/quizzes/{quiz.id}", json={"question": "Hacked?"}, headers=world["headers"][who]
    )
    assert resp.status_code == 403
    db.session.expire_all()
    assert quiz.question == "Q1?"


def test_update_anonymous_is_401(client, world):
    assert client.patch(f"/api/quizzes/{quiz_rows()[0].id}", json={"question": "x"}).status_code == 401


def test_update_unknown_or_invisible_quiz_is_404(client, world):
    headers = world["headers"]
    assert (
        client.patch("/api/quizzes/999999", json={"question": "x"}, headers=headers["owner"]).status_code
        == 404
    )
    world["course"].status = "draft"
    db.session.commit()
    quiz = quiz_rows()[0]
    resp = client.patch(
        f"/api/quizzes/{quiz.id}", json={"question": "x"}, headers=headers["other_instructor"]
    )
    assert resp.status_code == 404
    assert (
        client.patch(f"/api/quizzes/{quiz.id}", json={"question": "x"}, headers=headers["owner"]).status_code
        == 200
    )


def test_editing_after_attempts_keeps_recorded_results(client, world):
    # One attempt allowed, so the (wrong) attempt reveals the answer of its time.
    quiz = make_quiz(world["module"], options=["red", "green", "blue"], correct_option=0, max_attempts=1)
    student = world["headers"]["enrolled"]
    assert (
        client.post(
            f"/api/quizzes/{quiz.id}/attempts", json={"selected_option": 2}, headers=student
        ).status_code
        == 201
    )
    resp = client.patch(
        f"/api/quizzes/{quiz.id}",
        json={"options": ["cyan", "magenta"], "correct_option": 1},
        headers=world["headers"]["owner"],
    )
    assert resp.status_code == 200
    results = client.get(f"/api/me/quiz-results?quiz_id={quiz.id}", headers=student).get_json()["items"]
    assert [(r["selected_option"], r["is_correct"], r["correct_option"]) for r in results] == [(2, False, 0)]
    row = db.session.execute(select(QuizResult)).scalar_one()
    assert (row.selected_option, row.is_correct, row.correct_option) == (2, False, 0)
    # New attempts (once more are allowed) are judged against the edited quiz.
    assert (
        client.patch(
            f"/api/quizzes/{quiz.id}", json={"max_attempts": 3}, headers=world["headers"]["owner"]
        ).status_code
        == 200
    )
    body = client.post(
        f"/api/quizzes/{quiz.id}/attempts", json={"selected_option": 1}, headers=student
    ).get_json()
    assert body["is_correct"] is True and body["correct_option"] == 1


# --- DELETE /quizzes/{id} --------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_delete_quiz_removes_it_and_its_attempts(client, world, who):
    quiz = quiz_rows()[0]
    student = world["users"]["enrolled"]
    add_attempt(quiz, student, selected=1, correct=False)
    db.session.commit()
    quiz_id = quiz.id
    resp = client.delete(f"/api/quizzes/{quiz_id}", headers=world["headers"][who])
    assert resp.status_code == 204 and resp.data == b""
    db.session.expire_all()
    assert db.session.get(Quiz, quiz_id) is None
    assert db.session.execute(select(QuizResult)).first() is None
    assert [q.question for q in quiz_rows()] == ["Q2?"]
    entry = db.session.execute(select(AuditLog)).scalar_one()
    assert (entry.actor_id, entry.action, entry.object_type, entry.object_id) == (
        world["users"][who].id,
        "quiz.delete",
        "quiz",
        str(quiz_id),
    )
    assert entry.detail == {
        "question": "Q1?",
        "module_id": world["module"].id,
        "course_id": world["course"].id,
        "attempts": 1,
    }
    assert client.delete(f"/api/quizzes/{quiz_id}", headers=world["headers"][who]).status_code == 404


@pytest.mark.parametrize("who", ["other_instructor", "enrolled", "stranger"])
def test_delete_refused_with_403(client, world, who):
    quiz = quiz_rows()[0]
    assert client.delete(f"/api/quizzes/{quiz.id}", headers=world["headers"][who]).status_code == 403
    assert len(quiz_rows()) == 2
    assert db.session.execute(select(AuditLog)).first() is None


def test_delete_anonymous_is_401_and_invisible_is_404(client, world):
    quiz = quiz_rows()[0]
    assert client.delete(f"/api/quizzes/{quiz.id}").status_code == 401
    world["course"].status = "rejected"
    db.session.commit()
    assert (
        client.delete(f"/api/quizzes/{quiz.id}", headers=world["headers"]["other_instructor"]).status_code
        == 404
    )
    assert client.delete("/api/quizzes/999999", headers=world["headers"]["owner"]).status_code == 404
    assert len(quiz_rows()) == 2
