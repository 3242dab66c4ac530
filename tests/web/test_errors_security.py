"""The error envelope for every failure, security headers, CORS, body size limit and the docs."""

from __future__ import annotations

import pytest

from tests.factories import auth_headers


def assert_envelope(response, code):
    assert response.status_code == code
    body = response.get_json()
    assert body["code"] == code
    assert isinstance(body["status"], str) and body["status"]
    assert isinstance(body["message"], str) and body["message"]
    return body


def test_unknown_route_is_404_envelope(client):
    assert_envelope(client.get("/api/definitely/not/here"), 404)


def test_wrong_method_is_405_with_allow(client):
    response = client.delete("/api/auth/login")
    assert_envelope(response, 405)
    assert "POST" in response.headers["Allow"]


def test_body_too_large_is_413(client, app):
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    response = client.post("/api/auth/login", data=big, content_type="application/json")
    assert_envelope(response, 413)


def test_validation_error_is_422_with_field_errors(client):
    body = assert_envelope(client.post("/api/auth/login", json={"email": 5}), 422)
    assert set(body["errors"]["json"]) == {"email", "password"}


def test_unexpected_error_is_500_without_stack_trace(app):
    from web.app import create_app

    other = create_app()

    @other.get("/api/_test/boom")
    def _boom():
        raise RuntimeError("secret internals /etc/passwd")

    response = other.test_client().get("/api/_test/boom")
    body = assert_envelope(response, 500)
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert body["status"] == "Internal Server Error"


def test_domain_errors_map_to_statuses(app):
    from common import errors
    from web.app import create_app

    other = create_app()
    cases = {
        "/conflict": errors.Conflict("dup"),
        "/gone": errors.not_found("Course", 42),
        "/pay": errors.PaymentRequired("pay first"),
        "/down": errors.ServiceUnavailable("down"),
    }
    for path, exc in cases.items():
        other.add_url_rule("/api/_test" + path, path, lambda exc=exc: (_ for _ in ()).throw(exc))
    client = other.test_client()
    assert_envelope(client.get("/api/_test/conflict"), 409)
    assert client.get("/api/_test/gone").get_json()["message"] == "Course 42 not found"
    assert_envelope(client.get("/api/_test/pay"), 402)
    assert_envelope(client.get("/api/_test/down"), 503)


def test_security_headers_on_api_responses(client):
    response = client.get("/api/health")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_cors_allow_list(client):
    allowed = client.options(
        "/api/auth/me",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    assert allowed.headers.get("Access-Control-Allow-Origin") == "https://app.example.com"
    other = client.get("/api/health", headers={"Origin": "https://evil.example.net"})
    assert other.headers.get("Access-Control-Allow-Origin") != "https://evil.example.net"


def test_docs_load_from_the_app_itself(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/docs/assets/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000


def test_openapi_document_describes_auth(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/auth/login" in spec["paths"]
    assert spec["paths"]["/api/auth/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert spec["paths"]["/api/auth/login"]["post"]["summary"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]


def test_postman_collection(client):
    collection = client.get("/api/postman.json").get_json()
    assert collection["info"]["schema"].endswith("collection.json")
    names = [item["name"] for folder in collection["item"] for item in folder["item"]]
    assert any("sign it in" in n.lower() or "register" in n.lower() for n in names)


@pytest.mark.parametrize("path", ["/api/jobs/00000000-0000-0000-0000-000000000000"])
def test_unknown_ids_are_404_not_500(client, student, path):
    assert_envelope(client.get(path, headers=auth_headers(student)), 404)


def test_proxy_fix_trusts_configured_hops(app):
    from flask import request

    from web.app import create_app

    behind_proxy = create_app({"PROXY_FIX_HOPS": 1})

    @behind_proxy.get("/api/_test/ip")
    def _ip():
        return {"ip": request.remote_addr, "scheme": request.scheme}

    body = (
        behind_proxy.test_client()
        .get("/api/_test/ip", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
        .get_json()
    )
    assert body == {"ip": "203.0.113.9", "scheme": "https"}


def test_openapi_document_is_valid_and_every_operation_has_a_summary(client):
    from openapi_spec_validator import validate

    spec = client.get("/api/openapi.json").get_json()
    validate(spec)
    operations = [
        (path, method, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) > 40
    assert [(p, m) for p, m, op in operations if not op.get("summary")] == []
    for path in (
        "/api/courses",
        "/api/payments/webhook",
        "/api/certificates/verify/{verification_code}",
        "/api/quizzes/{quiz_id}/attempts",
        "/api/me/enrollments",
        "/api/jobs/{job_id}",
    ):
        assert path in spec["paths"], path
