"""Hostile input gets a clean 4xx with the error envelope at the edge (web/inputs.py), never a 500."""

from __future__ import annotations

import json

import pytest

from common.catalog.models import Course, Lesson
from common.quizzes.models import Quiz
from tests.factories import PASSWORD, auth_headers, make_course, make_user
from tests.web.test_errors_security import assert_envelope

BIG = 2**31


# ---- ids above 2^31 - 1 -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"/api/courses/{BIG}",
        f"/api/courses/{BIG}/modules",
        f"/api/lessons/{BIG}",
        f"/api/certificates/{BIG}",
        f"/api/payments/{10**30}",
    ],
)
def test_path_id_above_int32_is_404(client, path):
    student = make_user()
    assert_envelope(client.get(path, headers=auth_headers(student)), 404)


def test_path_id_at_int32_max_still_routes(client):
    assert_envelope(client.get(f"/api/courses/{BIG - 1}"), 404)


def test_openapi_documents_the_path_bound(client):
    spec = client.get("/api/openapi.json").get_json()
    param = spec["paths"]["/api/courses/{course_id}"]["parameters"][0]
    assert param["schema"]["maximum"] == BIG - 1


def test_query_id_above_int32_is_422(client):
    student = make_user()
    body = assert_envelope(
        client.get(f"/api/me/quiz-results?quiz_id={BIG}", headers=auth_headers(student)), 422
    )
    assert "quiz_id" in body["errors"]["query"]


def test_body_id_above_int32_is_422(client):
    student = make_user()
    body = assert_envelope(
        client.post("/api/payments/order", json={"course_id": BIG}, headers=auth_headers(student)), 422
    )
    assert "course_id" in body["errors"]["json"]


def test_negative_body_int_below_int32_is_422(client):
    instructor = make_user("instructor")
    course = make_course(instructor, status="draft")
    response = client.post(
        f"/api/courses/{course.id}/modules",
        json={"title": "M", "position": -(BIG + 1)},
        headers=auth_headers(instructor),
    )
    assert_envelope(response, 422)


def test_non_finite_and_huge_numbers_are_400(client):
    student = make_user()
    for raw in ('{"course_id": 1e999}', '{"course_id": NaN}', '{"course_id": ' + "9" * 5000 + "}"):
        response = client.post(
            "/api/payments/order", data=raw, content_type="application/json", headers=auth_headers(student)
        )
        assert_envelope(response, 400)


# ---- NUL bytes and lone surrogates --------------------------------------------------------------


@pytest.mark.parametrize(
    "path,code",
    [
        ("/api/courses?q=%00", 400),
        ("/api/courses?q=a%00b&page=1", 400),
        ("/api/certificates/verify/abc%00", 404),
        ("/api/jobs/abc%00def", 404),
    ],
)
def test_nul_in_query_or_path(client, path, code):
    student = make_user()
    assert_envelope(client.get(path, headers=auth_headers(student)), code)


def test_nul_in_lesson_url_is_422_and_nothing_stored(client, db_session):
    instructor = make_user("instructor")
    course = make_course(instructor, status="draft", lessons=0)
    module_id = course.modules[0].id
    response = client.post(
        f"/api/modules/{module_id}/lessons",
        headers=auth_headers(instructor),
        json={"title": "L", "video_url": "https://v.example.com/a\u0000b.mp4"},
    )
    body = assert_envelope(response, 422)
    assert "video_url" in body["errors"]["json"]
    assert db_session.query(Lesson).count() == 0


def _raw(client, method, path, text, headers=None):
    """Send a JSON body with escapes as typed (json.dumps would keep a lone surrogate escaped too)."""
    return client.open(
        path, method=method, data=text.encode(), content_type="application/json", headers=headers or {}
    )


def test_lone_surrogate_in_login_password_is_422(client):
    make_user(email="a@example.com")
    response = _raw(
        client, "POST", "/api/auth/login", '{"email": "a@example.com", "password": "\\ud800xxxxxxx"}'
    )
    body = assert_envelope(response, 422)
    assert body["errors"]["json"]["password"]


def test_lone_surrogate_in_register_and_profile_is_422(client):
    response = _raw(
        client,
        "POST",
        "/api/auth/register",
        '{"email": "n@example.com", "name": "\\udfffname", "password": "' + PASSWORD + '"}',
    )
    assert "name" in assert_envelope(response, 422)["errors"]["json"]
    user = make_user()
    response = _raw(client, "PATCH", "/api/auth/me", '{"name": "x\\ud83d"}', auth_headers(user))
    assert "name" in assert_envelope(response, 422)["errors"]["json"]


def test_a_paired_surrogate_escape_is_fine(client, db_session):
    instructor = make_user("instructor")
    response = _raw(
        client,
        "POST",
        "/api/courses",
        '{"title": "Emoji \\ud83d\\ude00", "domain": "web"}',
        auth_headers(instructor),
    )
    assert response.status_code == 201, response.get_json()
    assert db_session.get(Course, response.get_json()["id"]).title == "Emoji \U0001f600"


def test_lone_surrogate_in_quiz_options_is_not_stored(client, db_session):
    instructor = make_user("instructor")
    course = make_course(instructor, status="draft")
    response = _raw(
        client,
        "POST",
        f"/api/modules/{course.modules[0].id}/quizzes",
        '{"question": "Q?", "options": ["a", "\\ud800"], "correct_option": 0}',
        auth_headers(instructor),
    )
    body = assert_envelope(response, 422)
    assert body["errors"]["json"]["options"]["1"]
    assert db_session.query(Quiz).count() == 0


def test_nul_in_a_key_is_422(client):
    response = _raw(client, "POST", "/api/auth/login", '{"email\\u0000": "a@example.com", "password": "x"}')
    assert_envelope(response, 422)


# ---- nesting depth ------------------------------------------------------------------------------


def test_json_nested_2000_levels_is_400_on_anonymous_login(client):
    body = "[" * 2000 + "]" * 2000
    response = client.post("/api/auth/login", data=body, content_type="application/json")
    assert "nested" in assert_envelope(response, 400)["errors"]["json"][0]


def test_brackets_inside_strings_do_not_count(client):
    make_user(email="b@example.com")
    response = client.post("/api/auth/login", json={"email": "b@example.com", "password": "[" * 100})
    assert_envelope(response, 401)


def test_depth_check_on_get_json_too(app):
    from web.inputs import JSONBodyError, safe_json

    with pytest.raises(JSONBodyError):
        safe_json("{" + '"a":{' * 40 + "}" * 41)
    assert safe_json(json.dumps({"a": [[1]]})) == {"a": [[1]]}


# ---- over-long URL and headers ------------------------------------------------------------------


def test_over_long_url_is_414_envelope(client, app):
    path = "/api/courses?q=" + "a" * app.config["MAX_URL_LENGTH"]
    assert_envelope(client.get(path), 414)


def test_over_long_header_is_431_envelope(client, app):
    headers = {"X-Padding": "p" * app.config["MAX_HEADER_BYTES"]}
    assert_envelope(client.get("/api/health", headers=headers), 431)


def test_gunicorn_limits_are_above_the_app_limits(app):
    import runpy

    from common.config import BASE_DIR

    conf = runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))
    assert conf["limit_request_line"] > app.config["MAX_URL_LENGTH"]
    assert conf["limit_request_field_size"] > app.config["MAX_HEADER_BYTES"]


def test_gunicorn_empty_settings_mean_the_defaults(monkeypatch):
    import runpy

    from common.config import BASE_DIR

    for name in ("WEB_WORKER_CLASS", "WEB_CONCURRENCY", "WEB_THREADS"):
        monkeypatch.setenv(name, "")
    conf = runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))
    assert (conf["worker_class"], conf["workers"], conf["threads"]) == ("gthread", 2, 4)


# ---- the data-error backstop --------------------------------------------------------------------


def test_database_data_error_is_422_not_500(app):
    from sqlalchemy import text

    from common.db import db
    from web.app import create_app

    other = create_app()

    @other.get("/api/_test/overflow")
    def _overflow():
        db.session.execute(text("SELECT CAST(:v AS integer)"), {"v": str(BIG)})

    response = other.test_client().get("/api/_test/overflow")
    assert_envelope(response, 422)


# ---- query arguments parsed once per query string -----------------------------------------------


def _echo_app():
    """A bare app with one smorest route on the edge's parser whose view changes its arguments."""
    import marshmallow as ma
    from flask import Flask
    from flask_smorest import Api, Blueprint

    calls = []

    class EchoArgs(ma.Schema):
        n = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=5))
        tags = ma.fields.List(ma.fields.String(), load_default=list)

        @ma.post_load
        def count(self, data, **kwargs):
            calls.append(dict(data))
            return data

    app = Flask("echo")
    app.config.update(API_TITLE="echo", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    api = Api(app)
    blp = Blueprint("echo", __name__)

    @blp.route("/echo")
    @blp.arguments(EchoArgs, location="query")
    def echo(args):
        args["tags"].append("changed by the view")
        return {"n": args.pop("n"), "tags": args["tags"]}

    api.register_blueprint(blp)
    return app, calls


def test_query_arguments_are_parsed_once_and_each_request_gets_its_own_copy(app):
    echo, calls = _echo_app()
    client = echo.test_client()
    first = client.get("/echo?n=2&tags=a&tags=b").get_json()
    second = client.get("/echo?n=2&tags=a&tags=b").get_json()
    assert first == second == {"n": 2, "tags": ["a", "b", "changed by the view"]}
    assert len(calls) == 1  # the second request reused the first one's parse
    assert client.get("/echo?n=3").get_json() == {"n": 3, "tags": ["changed by the view"]}
    assert len(calls) == 2
    for _ in range(2):  # a refusal is answered every time, never kept
        assert client.get("/echo?n=9").status_code == 422
