"""Responses are encoded by orjson through Flask's JSON provider, with Flask's own output kept."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.factories import auth_headers, make_user


@dataclass
class _Point:
    x: int
    label: str


def test_values_are_written_as_flask_writes_them(app):
    value = {
        "when": datetime(2026, 12, 4, 21, 0, tzinfo=UTC),
        "day": date(2026, 12, 4),
        "price": Decimal("499.00"),
        "point": _Point(1, "a"),
        3: "int key",
    }
    with app.test_request_context():
        body = json.loads(app.json.response(value).get_data())
    assert body == {
        "when": "Fri, 04 Dec 2026 21:00:00 GMT",
        "day": "Fri, 04 Dec 2026 00:00:00 GMT",
        "price": "499.00",
        "point": {"x": 1, "label": "a"},
        "3": "int key",
    }


def test_compact_utf8_with_a_trailing_newline(app):
    with app.test_request_context():
        raw = app.json.response({"name": "Zoë 東京", "items": [1, 2]}).get_data()
        text = app.json.dumps({"a": [1]})
    assert raw == '{"name":"Zoë 東京","items":[1,2]}\n'.encode()
    assert text == '{"a":[1]}' and isinstance(text, str)


def test_an_integer_beyond_64_bits_falls_back_to_the_standard_library(app):
    with app.test_request_context():
        raw = app.json.response({"n": 2**70, "m": -(2**65)}).get_data()
    assert json.loads(raw) == {"n": 2**70, "m": -(2**65)}


def test_a_lone_surrogate_falls_back_to_ascii_escapes(app):
    with app.test_request_context():
        response = app.json.response({"\ud800": ["\ud800"], "n": 1})
    assert response.get_data() == b'{"\\ud800":["\\ud800"],"n":1}\n'  # compact, as orjson writes


def test_a_lone_surrogate_key_in_a_body_is_422_not_500(client):
    # The 422 names the bad field, so the surrogate comes back in the answer.
    response = client.post(
        "/api/auth/login", data='{"\\ud800": "x"}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.data
    assert response.get_json()["code"] == 422


def test_an_unknown_type_is_still_a_type_error(app):
    with app.test_request_context(), pytest.raises(TypeError):
        app.json.response({"x": object()})


def test_other_separators_are_kept(app):
    with app.test_request_context():
        assert app.json.dumps({"a": [1, 2]}, separators=(", ", ": ")) == '{"a": [1, 2]}'
        assert app.json.dumps({"a": [1, 2]}, separators=(",", ":")) == '{"a":[1,2]}'


def test_debug_output_is_indented(app):
    app.json.compact = False
    try:
        with app.test_request_context():
            raw = app.json.response({"a": 1}).get_data()
    finally:
        app.json.compact = None
    assert raw == b'{\n  "a": 1\n}\n'


def test_a_route_answers_non_ascii_names_as_utf8(client, db_session):
    user = make_user(name="Zoë Ångström")
    response = client.get("/api/auth/me", headers=auth_headers(user))
    assert response.status_code == 200
    assert "Zoë Ångström".encode() in response.data
    assert response.get_json()["name"] == "Zoë Ångström"
