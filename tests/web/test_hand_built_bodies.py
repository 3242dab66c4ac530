"""Routes that build their JSON by hand (cached bytes, precomputed bodies) answer exactly what their
declared response schema would: for each, the body equals the schema's dump of the same service data.

A new route that returns a hand-built body must be added to BUILDERS (the scan below fails otherwise).
"""

from __future__ import annotations

import inspect
import json
import re

import pytest

from common.catalog import service as catalog
from common.gamification import service as gamification
from common.pagination import Page
from tests.factories import auth_headers, enroll, make_course, make_user

HAND_BUILT = re.compile(r"response_class\(|\b_json\(|_with_link\(")


def _declared_schema(app, endpoint: str):
    """The schema of the route's documented 200 (what flask-smorest would have serialised with)."""
    view = app.view_functions[endpoint]
    schema = view._apidoc["response"]["responses"][200][0]["schema"]
    return schema() if isinstance(schema, type) else schema


def _courses(world, args):
    page: Page = catalog.search_catalogue(**args)
    return {
        "items": page.items,
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
    }


def _domains(world, args):
    items = catalog.domain_counts()
    return {"items": items, "total": len(items)}


def _outline(world, args):
    course = catalog.course_outline(course_id=world["course"].id, user_id=None, role=None)
    return course


def _board(world, args):
    from common.gamification.leaderboards import at_midnight, board_bounds

    body, me = gamification.read_board(period="weekly", domain="", limit=10, previous=False, user_id=None)
    start, end = board_bounds("weekly")
    # The service hands the body over as JSON text; the schema gets the same data as values.
    return {**json.loads(body), "period_start": at_midnight(start), "period_end": at_midnight(end), "me": me}


def _badges(world, args):
    return gamification.badge_catalogue()


def _live(world, args):
    return {"status": "ok"}


# endpoint -> (path, builder of the data the schema dumps, schema options)
BUILDERS = {
    "catalog.list_courses": ("/api/courses?domain=web-development", _courses, {}),
    "catalog.list_domains": ("/api/courses/domains", _domains, {}),
    "catalog.get_course": ("/api/courses/{course}", _outline, {"public": True}),
    "gamification.leaderboard": ("/api/leaderboard?period=weekly", _board, {}),
    "gamification.badge_catalogue": ("/api/badges", _badges, {}),
    "health.live": ("/api/health", _live, {}),
}
ARGS = {"catalog.list_courses": {"domain": "web-development"}}


def test_every_hand_built_route_is_covered(app):
    found = set()
    for endpoint, view in app.view_functions.items():
        source = inspect.getsource(inspect.unwrap(view))
        if HAND_BUILT.search(source) and endpoint.split(".")[0] not in ("static",):
            found.add(endpoint)
    # Not API resources (no response schema): the OpenAPI document, Swagger UI assets, Postman export.
    found -= {"api-docs.openapi_json", "swagger_assets", "postman_collection"}
    assert found == set(BUILDERS)


@pytest.fixture
def world():
    instructor = make_user("instructor", name="Ada Instructor")
    course = make_course(instructor, title="Schemas and bodies")
    student = make_user("student", name="Bo Student")
    enroll(student, course)
    gamification.rebuild_leaderboards()
    return {"course": course, "student": student}


@pytest.mark.parametrize("endpoint", sorted(BUILDERS))
def test_the_body_is_the_schema_dump(app, client, world, endpoint):
    path, build, options = BUILDERS[endpoint]
    path = path.format(course=world["course"].id)
    for attempt in ("miss", "hit"):  # built, then served from the cache
        response = client.get(path)
        assert response.status_code == 200, (attempt, response.get_json())
        schema = _declared_schema(app, endpoint)
        if options.get("public"):
            from web.resources.catalog.schemas import URL_FIELDS

            schema = type(schema)(exclude=tuple(f"modules.lessons.{name}" for name in URL_FIELDS))
        expected = schema.dump(build(world, ARGS.get(endpoint, {})))
        if endpoint == "catalog.get_course":
            expected["content_access"] = False
        assert response.get_json() == expected, attempt


def test_the_outline_with_content_access_is_the_full_schema_dump(app, client, world):
    headers = auth_headers(world["student"])
    body = client.get(f"/api/courses/{world['course'].id}", headers=headers).get_json()
    course = catalog.course_outline(course_id=world["course"].id, user_id=world["student"].id, role="student")
    expected = _declared_schema(app, "catalog.get_course").dump(course)
    expected["content_access"] = True
    assert body == expected
