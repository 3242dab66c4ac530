"""schemathesis over every operation of the live OpenAPI document, in-process (WSGI), as anonymous and
with real tokens for each role: never a 500, and answers that match their documented status codes,
content types and schemas. Positive and negative (schema-violating) examples both.

Bounded for the suite (FUZZ_EXAMPLES examples per operation, default 6, derandomized so a run is
repeatable); `make fuzz` runs a longer, randomized pass. Every failure it finds becomes a regular
test (tests/web/test_input_edge.py and friends).
"""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from tests.factories import auth_headers, enroll, make_course, make_user

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
DERANDOMIZE = not os.environ.get("FUZZ_RANDOM")
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]


@lru_cache(maxsize=1)
def _document() -> dict:
    """The OpenAPI document as the app serves it, from an app that needs no services (collection time)."""
    from web.app import create_app

    spec_app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "INSTANCE_DIR": tempfile.mkdtemp()})
    return spec_app.test_client().get("/api/openapi.json").get_json()


def _labels() -> list[str]:
    return [
        f"{method.upper()} {path}"
        for path, ops in _document()["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "patch", "delete")
    ]


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


@pytest.fixture
def callers(monkeypatch):
    """Anonymous plus one real token per role; a course the student is enrolled in gives ids to hit."""
    from web.extensions import limiter

    # The rate limits are tested on their own (tests/web/test_rate_limit.py); here they would only
    # turn most auth examples into 429s.
    monkeypatch.setattr(limiter, "enabled", False)
    owner = make_user("instructor")
    student = make_user()
    enroll(student, make_course(owner, quizzes=1))
    return {
        "anonymous": {},
        "student": auth_headers(student),
        "instructor": auth_headers(owner),
        "admin": auth_headers(make_user("admin")),
    }


def test_every_documented_operation_is_fuzzed(client):
    served = client.get("/api/openapi.json").get_json()
    assert _document() == served and len(_labels()) > 40


@pytest.mark.parametrize("label", _labels())
def test_operation_as_every_role(label, api_schema, callers):
    operation = api_schema.find_operation_by_label(label)
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=DERANDOMIZE,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case):
        for role, headers in callers.items():
            response = case.call(headers=headers)
            assert response.status_code != 500, f"{role}: {case.method} {case.formatted_path} -> 500"
            case.validate_response(response, checks=CHECKS, headers=headers)

    fuzz()
