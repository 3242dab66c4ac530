"""A Postman v2.1 collection: a runnable walk-through, then every operation of the live OpenAPI document.

Written here rather than with openapi-to-postmanv2 (npm): the collection is served by the API and
written by `flask postman write`, which must not need Node, and the walk-through's scripts are ours.
"""

from __future__ import annotations

import json
import re

from flask import current_app

from web.postman_scripts import GENERIC_TEST, STORE_TOKENS
from web.postman_walkthrough import walkthrough

_METHODS = ("get", "post", "put", "patch", "delete")
SCHEMA_URL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"

STORE_TOKEN_OPERATIONS = {"login", "register", "refreshTokens", "exchangeOAuthCode"}


def _example(schema: dict, components: dict, name: str = "", depth: int = 0):
    """An example value for a JSON schema: its example/default/enum, else one shaped by type and format."""
    if "$ref" in schema:
        target = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
        return _example(target, components, name, depth + 1) if depth < 6 else {}
    for key in ("example", "default"):
        if key in schema and schema[key] not in ("", None):
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        required = set(schema.get("required", []))
        properties = schema.get("properties", {})
        # Required fields, plus the optional ones a reader would want to see filled in.
        return {
            key: _example(prop, components, key, depth + 1)
            for key, prop in properties.items()
            if not prop.get("readOnly") and (key in required or len(properties) <= 6)
        }
    if kind == "array":
        return [_example(schema.get("items", {}), components, name, depth + 1)]
    if kind in ("integer", "number"):
        return (
            max(schema.get("minimum", 1), 1)
            if name.endswith("_id") or name == "id"
            else schema.get("minimum", 0)
        )
    if kind == "boolean":
        return False
    return _string_example(schema, name)


def _string_example(schema: dict, name: str) -> str:
    fmt = schema.get("format", "")
    if fmt == "email" or name == "email":
        return "student@example.com"
    if fmt in ("uri", "url") or name.endswith("_url"):
        return "https://videos.example.com/lesson.mp4"
    if fmt == "date-time":
        return "2026-01-01T00:00:00Z"
    if "password" in name:
        return "a-long-password"
    if name == "currency":
        return "INR"
    return {"title": "Example title", "name": "Example Name", "domain": "programming"}.get(name, "example")


def _path_variable(parameter: dict) -> dict:
    schema = parameter.get("schema", {})
    value = "1" if schema.get("type") == "integer" else "00000000-0000-0000-0000-000000000000"
    if parameter["name"] == "verification_code":
        value = "VERIFICATION-CODE"
    return {
        "key": parameter["name"],
        "value": value,
        "description": f"{schema.get('type', 'string')} (example)",
    }


def request_item(spec: dict, path: str, method: str, op: dict) -> dict:
    components = spec.get("components", {}).get("schemas", {})
    segments = [re.sub(r"^\{(\w+)\}$", r":\1", part) for part in path.strip("/").split("/")]
    parameters = op.get("parameters", []) + spec["paths"][path].get("parameters", [])
    query = [
        {
            "key": p["name"],
            "value": str(_example(p.get("schema", {}), components, p["name"])),
            "disabled": True,
        }
        for p in parameters
        if p.get("in") == "query"
    ]
    url = {
        "raw": "{{baseUrl}}/" + "/".join(segments),
        "host": ["{{baseUrl}}"],
        "path": segments,
        "variable": [_path_variable(p) for p in parameters if p.get("in") == "path"],
    }
    if query:
        url["query"] = query
    request = {
        "method": method.upper(),
        "header": [{"key": "Accept", "value": "application/json"}],
        "url": url,
        "description": op.get("description", op.get("summary", "")),
    }
    security = op.get("security")
    if security and security[0]:
        request["auth"] = {"type": "bearer", "bearer": [{"key": "token", "value": "{{accessToken}}"}]}
    else:
        request["auth"] = {"type": "noauth"}
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if body:
        request["header"].append({"key": "Content-Type", "value": "application/json"})
        request["body"] = {
            "mode": "raw",
            "raw": json.dumps(_example(body, components), indent=2),
            "options": {"raw": {"language": "json"}},
        }
    script = GENERIC_TEST + (STORE_TOKENS if op.get("operationId") in STORE_TOKEN_OPERATIONS else [])
    return {
        "name": op.get("summary") or f"{method.upper()} {path}",
        "request": request,
        "event": [{"listen": "test", "script": {"type": "text/javascript", "exec": script}}],
    }


def build_collection() -> dict:
    spec = current_app.extensions["api"].spec.to_dict()
    folders: dict[str, list] = {}
    for path, operations in spec["paths"].items():
        for method in _METHODS:
            if method in operations:
                op = operations[method]
                tag = (op.get("tags") or ["api"])[0]
                folders.setdefault(tag, []).append(request_item(spec, path, method, op))
    base = current_app.config["PUBLIC_BASE_URL"]
    return {
        "info": {
            "name": spec["info"]["title"],
            "description": (
                "Walkthrough: run it in order (Collection Runner or `newman run --folder Walkthrough`) "
                "against `make run`'s embedded default; it logs in, buys a course on the Razorpay "
                "stand-in, completes it and fetches the certificate. The other folders hold every "
                "operation of /api/openapi.json, with example bodies; log in first (the login request "
                "stores the tokens in the environment)."
            ),
            "schema": SCHEMA_URL,
        },
        "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{accessToken}}"}]},
        "variable": [
            {"key": "baseUrl", "value": base},
            {"key": "razorpayStandin", "value": current_app.config["RAZORPAY_STANDIN_URL"]},
            {"key": "accessToken", "value": ""},
            {"key": "refreshToken", "value": ""},
            {"key": "adminEmail", "value": "admin@example.com"},
            {"key": "adminPassword", "value": "demo-admin-pass"},
            {"key": "instructorEmail", "value": "instructor@example.com"},
            {"key": "instructorPassword", "value": "demo-instructor-pass"},
            {"key": "studentEmail", "value": "student@example.com"},
            {"key": "studentPassword", "value": "demo-student-pass"},
        ],
        "item": [walkthrough()] + [{"name": tag, "item": items} for tag, items in folders.items()],
    }
