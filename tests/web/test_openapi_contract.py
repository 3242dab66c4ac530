"""The typed contract: operationIds, errors, headers, no untyped field; openapi-typescript + tsc --strict."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from tests.node.tools import HERE as NODE_DIR
from tests.node.tools import bin_path, node_modules

METHODS = ("get", "post", "put", "patch", "delete")
ERROR_CODES = {"400", "401", "403", "404", "409", "422", "429", "503"}


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/api/openapi.json").get_json()


def _operations(spec):
    for path, ops in spec["paths"].items():
        for method in METHODS:
            if method in ops:
                yield f"{method.upper()} {path}", ops[method]


def _response(spec, response):
    if "$ref" in response:
        return spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return response


def test_every_operation_has_a_unique_camel_case_id_tags_and_a_summary(spec):
    ids = [op.get("operationId") for _label, op in _operations(spec)]
    assert all(ids) and len(ids) == len(set(ids)) > 80
    assert all(re.fullmatch(r"[a-z][a-zA-Z0-9]*", i) for i in ids), ids
    assert {"listCourses", "createOrder", "login", "completeLesson", "listMyCertificates"} <= set(ids)
    assert all(op.get("tags") and op.get("summary") for _label, op in _operations(spec))


def test_every_error_status_carries_the_envelope_and_its_headers(spec):
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "status", "message"}
    for label, op in _operations(spec):
        for code, response in op["responses"].items():
            response = _response(spec, response)
            if code in ERROR_CODES or code == "default":
                schema = response["content"]["application/json"]["schema"]
                # The readiness probe's 503 is its own body (which dependency is down), by design.
                if (label, code) != ("GET /api/health/ready", "503"):
                    assert schema == {"$ref": "#/components/schemas/Error"}, (label, code)
        responses = op["responses"]
        assert "503" in responses, label
        if "429" in responses:
            assert responses["429"]["headers"]["Retry-After"]["required"] is True, label
        if "401" in responses:
            assert "WWW-Authenticate" in responses["401"]["headers"], label
        ok = responses.get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
        if ok.get("$ref", "").endswith("Page"):
            assert "Link" in responses["200"]["headers"], label
        if "202" in responses:
            assert "Location" in responses["202"]["headers"], label
    # Rate-limit exemptions are read from the limiter: no 429 where none can happen.
    assert "429" not in spec["paths"]["/api/health"]["get"]["responses"]
    assert "429" in spec["paths"]["/api/auth/login"]["post"]["responses"]
    ready = spec["paths"]["/api/health/ready"]["get"]["responses"]["503"]
    assert ready["content"]["application/json"]["schema"]["$ref"].endswith("/Ready")


def _untyped(schema, where, found):
    if not isinstance(schema, dict):
        return
    if not any(key in schema for key in ("type", "$ref", "allOf", "oneOf", "anyOf")):
        found.append(where)
    if schema.get("type") == "object" and "properties" not in schema:
        extra = schema.get("additionalProperties")
        if not isinstance(extra, dict) or not extra:
            found.append(where + " (object without a schema)")
    for name, prop in schema.get("properties", {}).items():
        _untyped(prop, f"{where}.{name}", found)
    if isinstance(schema.get("items"), dict):
        _untyped(schema["items"], where + "[]", found)
    if isinstance(schema.get("additionalProperties"), dict) and schema["additionalProperties"]:
        _untyped(schema["additionalProperties"], where + "{}", found)


def test_no_untyped_field(spec):
    found: list[str] = []
    for name, schema in spec["components"]["schemas"].items():
        _untyped(schema, name, found)
    assert found == []


def test_response_fields_are_required_and_inputs_keep_their_own(spec):
    schemas = spec["components"]["schemas"]
    assert set(schemas["Order"]["required"]) >= {"id", "order_id", "amount", "currency", "key_id"}
    assert "video_url" not in schemas["Lesson"]["required"]  # left out for callers without access
    assert schemas["Login"]["required"] == ["email", "password"]
    assert not any("x-optional" in json.dumps(s) for s in schemas.values())


def test_one_name_per_concept(spec):
    schemas = spec["components"]["schemas"]
    for name, schema in schemas.items():
        prop = schema.get("properties", {}).get("payment_id")
        if prop is not None:  # Razorpay's pay_... id wherever it appears; our row is `id`
            assert prop["type"] == "string", name
    for name in ("JobAccepted", "Job"):
        for field in ("status_url", "result_url"):
            if field in schemas[name]["properties"]:
                assert schemas[name]["properties"][field]["format"] == "uri"


def test_document_validates(spec):
    from openapi_spec_validator import validate

    validate(spec)


def test_typescript_client_compiles_strict_against_the_generated_types(spec, tmp_path):
    modules = node_modules()
    (tmp_path / "openapi.json").write_text(json.dumps(spec))
    for name in ("client.ts", "tsconfig.json"):
        shutil.copy(NODE_DIR / "typed_client" / name, tmp_path)
    generate = subprocess.run(
        [bin_path(modules, "openapi-typescript"), "openapi.json", "-o", "api.d.ts"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert generate.returncode == 0, generate.stderr
    compiled = subprocess.run(
        [bin_path(modules, "tsc"), "-p", "tsconfig.json", "--strict"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert compiled.returncode == 0, compiled.stdout[-4000:]
    # The generated types name the operations the client calls (no `never` slipped through).
    types = (tmp_path / "api.d.ts").read_text()
    assert 'operations["createOrder"]' in types and 'operations["completeLesson"]' in types
