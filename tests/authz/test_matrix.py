"""Every route of the URL map x {anonymous, student, enrolled, refunded, other instructor, owner,
admin, suspended}: the status each gets, against the one table in tests/authz/expectations.py.

A route without a row fails `test_every_route_has_an_expectation`, so no new route is forgotten.
Each (route, role) write runs against a fresh world (tests/authz/world.py), so writes by one
caller never decide another's answer; the callers of a GET share one.
"""

from __future__ import annotations

import pytest

from tests.authz.expectations import EXPECTED
from tests.authz.world import PATH_VALUES, ROLES, build_world, headers

SKIPPED_METHODS = {"HEAD", "OPTIONS"}


def _routes(app) -> list[tuple[str, object]]:
    return sorted(
        (f"{method} {rule.rule}", rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - SKIPPED_METHODS
    )


@pytest.fixture(scope="module")
def routes(app):
    return dict(_routes(app))


def test_every_route_has_an_expectation(routes):
    missing = sorted(set(routes) - set(EXPECTED))
    assert not missing, "add these routes to tests/authz/expectations.py: " + ", ".join(missing)
    stale = sorted(set(EXPECTED) - set(routes))
    assert not stale, "no such routes any more: " + ", ".join(stale)
    assert all(set(e.statuses) == set(ROLES) for e in EXPECTED.values())


def _url(rule, world, expect) -> str:
    values = {}
    for name in rule.arguments:
        assert name in expect.path or name in PATH_VALUES, f"no value for <{name}>: add it to PATH_VALUES"
        values[name] = expect.path.get(name, PATH_VALUES.get(name))(world)
    path = rule.rule
    for converter_name, name in ((c, n) for n in rule.arguments for c in ("int", "string", "path")):
        path = path.replace(f"<{converter_name}:{name}>", str(values[name]))
    return path


@pytest.mark.parametrize("route", sorted(EXPECTED))
def test_route_for_every_caller(route, routes, client, monkeypatch):
    from web.extensions import limiter

    monkeypatch.setattr(limiter, "enabled", False)  # limits have their own tests
    if route not in routes:
        pytest.skip("route not on this branch")
    method = route.split(" ", 1)[0]
    expect = EXPECTED[route]
    got = {}
    shared = build_world() if method == "GET" else None  # reads change nothing: one world will do
    for role in ROLES:
        world = shared or build_world()
        body = expect.body(world, role) if callable(expect.body) else expect.body
        response = client.open(
            _url(routes[route], world, expect),
            method=method,
            json=body,
            headers=headers(world, role, expect.token),
        )
        got[role] = response.status_code
        if response.status_code >= 400 and response.mimetype == "application/json":
            assert response.get_json()["code"] == response.status_code
    wrong = {
        role: f"got {got[role]}, expected {expect.statuses[role]}"
        for role in ROLES
        if got[role] != expect.statuses[role]
    }
    assert not wrong, f"{route}: {wrong}"
