"""A Postman v2.1 collection derived from the live OpenAPI document."""

from __future__ import annotations

import re

from flask import current_app

_METHODS = ("get", "post", "put", "patch", "delete")


def _example(schema: dict, components: dict, depth: int = 0):
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _example(components.get(name, {}), components, depth + 1) if depth < 4 else {}
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            k: _example(v, components, depth + 1)
            for k, v in schema.get("properties", {}).items()
            if not v.get("readOnly")
        }
    if kind == "array":
        return [_example(schema.get("items", {}), components, depth + 1)]
    if "enum" in schema:
        return schema["enum"][0]
    return {"integer": 0, "number": 0, "boolean": False}.get(kind, "")


def build_collection() -> dict:
    spec = current_app.extensions["api"].spec.to_dict()
    components = spec.get("components", {}).get("schemas", {})
    folders: dict[str, list] = {}
    for path, operations in spec["paths"].items():
        for method in _METHODS:
            op = operations.get(method)
            if op is None:
                continue
            raw = "{{baseUrl}}" + re.sub(r"\{(\w+)\}", r":\1", path)
            request = {
                "method": method.upper(),
                "header": [{"key": "Content-Type", "value": "application/json"}],
                "url": {"raw": raw, "host": ["{{baseUrl}}"], "path": [p for p in raw.split("/")[1:] if p]},
                "description": op.get("description", ""),
            }
            if op.get("security") and op["security"][0]:
                request["auth"] = {"type": "bearer", "bearer": [{"key": "token", "value": "{{accessToken}}"}]}
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                import json

                request["body"] = {"mode": "raw", "raw": json.dumps(_example(body, components), indent=2)}
            tag = (op.get("tags") or ["api"])[0]
            folders.setdefault(tag, []).append(
                {"name": op.get("summary") or f"{method.upper()} {path}", "request": request}
            )
    return {
        "info": {
            "name": spec["info"]["title"],
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
        },
        "variable": [
            {"key": "baseUrl", "value": "http://127.0.0.1:5000"},
            {"key": "accessToken", "value": ""},
        ],
        "item": [{"name": tag, "item": items} for tag, items in folders.items()],
    }
