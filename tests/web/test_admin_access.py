"""Every /api/admin route (this blueprint's and any other's, present or future) refuses non-admins."""

from __future__ import annotations

import re

import pytest

from tests.factories import auth_headers, make_user


def _admin_endpoints(app) -> list[tuple[str, str]]:
    endpoints = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/admin"):
            continue
        # An existing-looking value for every path parameter: the role check must come before any lookup.
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            endpoints.append((method, path))
    return endpoints


def test_the_walk_finds_the_admin_routes(app):
    found = set(_admin_endpoints(app))
    assert {
        ("GET", "/api/admin/courses"),
        ("POST", "/api/admin/courses/1/approve"),
        ("POST", "/api/admin/users/1/suspend"),
        ("GET", "/api/admin/stats"),
        ("POST", "/api/admin/reports"),
        ("GET", "/api/admin/reports/1/download"),
        ("GET", "/api/admin/audit-log"),
        ("POST", "/api/admin/payments/1/refund"),
        ("POST", "/api/admin/certificates/1/render"),
    } <= found


@pytest.mark.parametrize("role", [None, "student", "instructor"])
def test_every_admin_route_refuses_non_admins(app, client, role):
    headers = auth_headers(make_user(role)) if role else {}
    wrong = []
    for method, path in _admin_endpoints(app):
        resp = client.open(path, method=method, json={}, headers=headers)
        expected = 401 if role is None else 403
        if resp.status_code != expected or resp.get_json().get("code") != expected:
            wrong.append((method, path, resp.status_code))
    assert wrong == []


def test_a_suspended_admins_token_stops_working(client, admin):
    headers = auth_headers(admin)
    assert client.get("/api/admin/stats", headers=headers).status_code == 200
    other = make_user("admin")
    assert (
        client.post(
            f"/api/admin/users/{admin.id}/suspend", json={"reason": "left"}, headers=auth_headers(other)
        ).status_code
        == 200
    )
    resp = client.get("/api/admin/stats", headers=headers)
    assert resp.status_code == 403 and resp.get_json()["message"] == "This account is suspended"
