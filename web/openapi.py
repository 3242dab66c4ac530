"""The OpenAPI contract in one place: operationIds, the error envelope, headers and required fields."""

from __future__ import annotations

import marshmallow as ma
from apispec import BasePlugin
from flask_smorest import Api

# Most operationIds are the view function's name in camelCase (list_courses -> listCourses); these views
# have names that read badly out of their module, so the contract names them here, once.
OPERATION_IDS = {
    "health.live": "getHealth",
    "health.ready": "getReadiness",
    "auth.register": "register",
    "auth.login": "login",
    "auth.refresh": "refreshTokens",
    "auth.logout": "logout",
    "auth.logout_with_refresh": "logoutWithRefreshToken",
    "auth.me": "getMe",
    "auth.update_me": "updateMe",
    "auth.google_login": "startGoogleLogin",
    "auth.google_callback": "finishGoogleLogin",
    "auth.oauth_exchange": "exchangeOAuthCode",
    "catalog.instructor_courses": "listInstructorCourses",
    "learning.enroll": "enrollInCourse",
    "learning.my_enrollments": "listMyEnrollments",
    "learning.course_progress": "getCourseProgress",
    "quizzes.my_quiz_results": "listMyQuizResults",
    "payments.verify": "verifyPayment",
    "payments.webhook": "receiveRazorpayWebhook",
    "payments.history": "listMyPayments",
    "payments.refund": "refundPayment",
    "certificates.my_certificates": "listMyCertificates",
    "gamification.my_xp": "getMyXp",
    "gamification.my_badges": "listMyBadges",
    "gamification.badge_catalogue": "listBadges",
    "gamification.leaderboard": "getLeaderboard",
    "admin.review_queue": "listCoursesForReview",
    "admin.platform_stats": "getPlatformStats",
    "admin.audit_log": "listAuditLog",
}

ERROR_DESCRIPTIONS = {
    "400": "Malformed request",
    "401": "Missing, invalid, expired or revoked token",
    "403": "Authenticated but not allowed",
    "404": "Not found, or not visible to the caller",
    "409": "Conflict: duplicate or wrong state",
    "422": "Validation failed; per-field messages in `errors`",
    "429": "Rate limited; retry after `Retry-After` seconds",
    "503": "A dependency is down; retry after `Retry-After` seconds",
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
RETRY_AFTER = {"description": "Seconds to wait before retrying", "schema": {"type": "integer", "minimum": 1}}
LINK = {
    "description": 'RFC 8288 links to the first, last, prev and next pages (rel="first" ...)',
    "schema": {"type": "string"},
}
LOCATION = {"description": "Absolute URL of the job to poll", "schema": {"type": "string", "format": "uri"}}
WWW_AUTHENTICATE = {
    "description": 'RFC 6750 challenge: `Bearer`, with `error="invalid_token"` for a bad token',
    "schema": {"type": "string"},
}


class ErrorSchema(ma.Schema):
    """The error envelope of every failure (API.md)."""

    code = ma.fields.Integer(required=True, metadata={"description": "The HTTP status code"})
    status = ma.fields.String(required=True, metadata={"description": "The HTTP status phrase"})
    message = ma.fields.String(required=True)
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Raw(
            metadata={
                "anyOf": [
                    {"type": "object", "additionalProperties": True},
                    {"type": "array", "items": {"type": "string"}},
                ]
            }
        ),
        metadata={"description": "Field errors by location (json, query...), then by field name"},
    )


class ContractApi(Api):
    ERROR_SCHEMA = ErrorSchema


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def operation_id(endpoint: str, method: str, methods: int) -> str:
    if endpoint in OPERATION_IDS:
        return OPERATION_IDS[endpoint]
    name = camel_case(endpoint.rsplit(".", 1)[-1])
    # A view serving several methods would give them one id; the method keeps them apart.
    return camel_case(f"{method}_{name}") if methods > 1 else name


class ContractPlugin(BasePlugin):
    """Completes every operation as flask-smorest registers it, so no route repeats contract boilerplate."""

    def __init__(self, exempt_from_rate_limit=lambda endpoint: False):
        self.exempt = exempt_from_rate_limit

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        for method, op in operations.items():
            op.setdefault("operationId", operation_id(rule.endpoint, method, len(operations)))
            responses = op.setdefault("responses", {})
            # flask-smorest keys responses by int: a route's own 503 (or 429) must not be shadowed.
            documented = {str(code) for code in responses}
            if "503" not in documented:
                responses["503"] = {"description": ERROR_DESCRIPTIONS["503"]}
            if "429" not in documented and not self.exempt(rule.endpoint):
                responses["429"] = {"description": ERROR_DESCRIPTIONS["429"]}
            for code, response in responses.items():
                _complete_response(str(code), response)


def _complete_response(code: str, response: dict) -> None:
    if not isinstance(response, dict) or "$ref" in response:  # a named component: complete already
        return
    headers = response.setdefault("headers", {})
    if code[0] in "45":
        response.setdefault("content", {"application/json": {"schema": ERROR_REF}})
        if code in ("429", "503"):
            headers.setdefault("Retry-After", {**RETRY_AFTER, "required": code == "429"})
        if code == "401":
            headers.setdefault("WWW-Authenticate", {**WWW_AUTHENTICATE, "required": True})
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    if code == "200" and schema.get("$ref", "").endswith("Page"):
        headers.setdefault("Link", {**LINK, "required": True})
    if code == "202":
        headers.setdefault("Location", {**LOCATION, "required": True})
    if not headers:
        del response["headers"]


def mark_response_fields_required(spec) -> None:
    """Every field of a response-only schema is always present in our answers: say so.

    marshmallow's `required` is about input; without this a generated client types every response
    field as optional. Schemas also used for input keep their own `required` list.
    """
    document = spec.to_dict()
    schemas = spec.components.schemas
    operations = list(_operations(document))
    requested = _reachable(
        _refs([[op.get("requestBody"), op.get("parameters")] for op in operations]), schemas
    )
    answered = _reachable(_refs([op.get("responses") for op in operations]), schemas)
    for name, schema in schemas.items():
        properties = schema.get("properties", {})
        # A field some answers leave out says so with metadata {"x-optional": True}.
        optional = {key for key, prop in properties.items() if prop.pop("x-optional", False)}
        # A schema with its own `required` chose it (the error envelope's `errors` is optional).
        if name not in answered or name in requested or "required" in schema:
            continue
        required = [
            key for key, prop in properties.items() if not prop.get("writeOnly") and key not in optional
        ]
        if required:
            schema["required"] = required


def _operations(document: dict):
    for operations in document["paths"].values():
        for method, op in operations.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield op


def _refs(node) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                found.add(ref.rsplit("/", 1)[-1])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _reachable(names: set[str], schemas: dict) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        todo.extend(_refs(schemas[name]))
    return seen
