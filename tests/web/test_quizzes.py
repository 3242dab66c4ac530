"""Quiz authoring and listing: every route × role, validation, and what is left in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from common.admin.models import AuditLog
from common.db import db
from common.learning.models import Enrollment
from common.quizzes.models import Quiz, QuizResult
from tests.factories import auth_headers, enroll, make_course, make_quiz, make_user

VALID = {"question": "What is 2 + 2?", "options": ["3", "4", "5"], "correct_option": 1}


def find_key(body, key: str) -> bool:
    """True if `key` appears in any dict anywhere inside the JSON body."""
    if isinstance(body, dict):
        return key in body or any(find_key(v, key) for v in body.values())
    if isinstance(body, list):
        return any(find_key(v, key) for v in body)
    return False


def test_find_key_finds_nested_keys():
    assert find_key({"items": [{"a": 1}, {"x": {"correct_option": 0}}]}, "correct_option")
    assert not find_key({"items": [{"a": 1}], "correct": 2}, "correct_option")


@pytest.fixture
def world():
    """An approved course with one module and two quizzes, plus one user of every kind."""
    owner = make_user("instructor")
    course = make_course(owner, quizzes=2)
    module = course.modules[0]
    enrolled = make_user("student")
    enroll(enrolled, course)
    users = {
        "owner": owner,
        "other_instructor": make_user("instructor"),
        "admin": make_user("admin"),
        "enrolled": enrolled,
        "stranger": make_user("student"),
    }
    return {
        "course": course,
        "module": module,
        "users": users,
        "headers": {name: auth_headers(user) for name, user in users.items()},
    }


def quiz_rows():
    return db.session.execute(select(Quiz).order_by(Quiz.id)).scalars().all()


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
        db.session.add(
            QuizResult(
                quiz_id=quiz.id,
                user_id=student.id,
                module_id=quiz.module_id,
                course_id=quiz.course_id,
                selected_option=selected,
                is_correct=correct,
                correct_option=1,
            )
        )
    # Someone else's attempts do not count towards this student's standing.
    other = world["users"]["stranger"]
    db.session.add(
        QuizResult(
            quiz_id=quiz.id,
            user_id=other.id,
            module_id=quiz.module_id,
            course_id=quiz.course_id,
            selected_option=0,
            is_correct=False,
            correct_option=1,
        )
    )
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
    assert resp.status_code in (400, 422)
    resp = client.post(
        f"/api/modules/{world['module'].id}/quizzes", json=[1, 2], headers=world["headers"]["owner"]
    )
    assert resp.status_code in (400, 422)
    assert len(quiz_rows()) == 2


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
    db.session.add(
        QuizResult(
            quiz_id=quiz.id,
            user_id=student.id,
            module_id=quiz.module_id,
            course_id=quiz.course_id,
            selected_option=1,
            is_correct=False,
            correct_option=0,
        )
    )
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
