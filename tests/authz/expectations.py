"""The authorization matrix: for every route of the URL map, the status each caller gets.

Keys are "METHOD rule" exactly as Flask's URL map spells them; a route missing here fails
tests/authz/test_matrix.py. Add a domain's routes in a few lines with the shorthands, e.g.

    EXPECTED.update({
        "GET /api/me/xp": signed_in(200),
        "POST /api/admin/flags/<int:flag_id>/resolve": admin_only(200, body={"action": "dismiss"}),
    })

Statuses are for a valid request (`body`), so a refusal is authorization's, not validation's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.authz.world import ROLES

STUDENTS = ("student", "enrolled", "refunded")
STAFF = ("other_instructor", "owner", "admin")


@dataclass
class Expect:
    statuses: dict
    body: object = None
    token: str = "access"  # "refresh" for the routes that take a refresh token
    path: dict = field(default_factory=dict)  # path values overriding world.PATH_VALUES


def every(code: int, body=None, token: str = "access", path=None, **by_role) -> Expect:
    return Expect({role: by_role.get(role, code) for role in ROLES}, body, token, path or {})


def signed_in(code: int, **kwargs) -> Expect:
    """Any valid token; none is 401; a suspended user's earlier tokens are refused with 403 (suspended)."""
    return every(code, **{"anonymous": 401, "suspended": 403, **kwargs})


def students_only(code: int, **kwargs) -> Expect:
    return signed_in(code, **{**{role: 403 for role in STAFF}, **kwargs})


def staff_owned(code: int, **kwargs) -> Expect:
    """Owner and admin act; students and another instructor are refused (403: the world's course is
    public; a draft course is 404 to them, see the catalogue tests)."""
    return signed_in(code, **{**{role: 403 for role in STUDENTS}, "other_instructor": 403, **kwargs})


def admin_only(code: int, **kwargs) -> Expect:
    return signed_in(403, **{"admin": code, **kwargs})


COURSE = {"title": "A new course", "domain": "web-development"}
LESSON = {"title": "L", "video_url": "https://video.example.com/x.mp4"}
QUIZ = {"question": "Q?", "options": ["a", "b"], "correct_option": 0}
PASSWORD = "correct horse battery"

EXPECTED: dict[str, Expect] = {
    # ---- public ---------------------------------------------------------------------------------
    "GET /api/health": every(200),
    "GET /api/health/ready": every(200),
    "GET /api/openapi.json": every(200),
    "GET /api/docs": every(200),
    "GET /api/docs/assets/<path:filename>": every(200),
    "GET /api/postman.json": every(200),
    "GET /static/<path:filename>": every(404),
    "GET /api/courses": every(200),
    "GET /api/courses/domains": every(200),
    "GET /api/courses/<int:course_id>": every(200, suspended=403),
    "GET /api/courses/<int:course_id>/modules": every(200, suspended=403),
    "GET /api/modules/<int:module_id>/lessons": every(200, suspended=403),
    "GET /api/certificates/verify/<string:verification_code>": every(200),
    "POST /api/payments/webhook": every(400),  # no signature: refused whoever calls
    # ---- accounts -------------------------------------------------------------------------------
    "POST /api/auth/register": every(
        201, body=lambda w, role: {"email": f"new-{role}@example.com", "password": PASSWORD, "name": "N"}
    ),
    "POST /api/auth/login": every(200, body=lambda w, role: {"email": w.student.email, "password": PASSWORD}),
    "POST /api/auth/refresh": signed_in(200, token="refresh"),
    "POST /api/auth/logout": signed_in(200),
    "POST /api/auth/logout/refresh": signed_in(200, token="refresh"),
    "GET /api/auth/me": signed_in(200),
    "PATCH /api/auth/me": signed_in(200, body={"name": "Renamed"}),
    "GET /api/auth/oauth/google/login": every(503),  # not configured in the suite
    "GET /api/auth/oauth/google/callback": every(503),
    # ---- catalogue authoring --------------------------------------------------------------------
    "POST /api/courses": signed_in(201, body=COURSE, **{role: 403 for role in STUDENTS}),
    "PATCH /api/courses/<int:course_id>": staff_owned(200, body={"title": "Edited"}),
    "DELETE /api/courses/<int:course_id>": staff_owned(204, owner=409),  # students enrolled: admins only
    "POST /api/courses/<int:course_id>/submit": staff_owned(409),  # already approved
    "GET /api/instructor/courses": signed_in(200, **{role: 403 for role in STUDENTS}),
    "POST /api/courses/<int:course_id>/modules": staff_owned(201, body={"title": "M2"}),
    "PATCH /api/modules/<int:module_id>": staff_owned(200, body={"title": "M renamed"}),
    "DELETE /api/modules/<int:module_id>": staff_owned(204),
    "POST /api/modules/<int:module_id>/lessons": staff_owned(201, body=LESSON),
    "GET /api/lessons/<int:lesson_id>": signed_in(200, student=403, refunded=403, other_instructor=403),
    "PATCH /api/lessons/<int:lesson_id>": staff_owned(200, body={"title": "L renamed"}),
    "DELETE /api/lessons/<int:lesson_id>": staff_owned(204),
    # ---- learning -------------------------------------------------------------------------------
    "POST /api/courses/<int:course_id>/enroll": students_only(201, enrolled=409),
    "GET /api/me/enrollments": students_only(200),
    "GET /api/me/courses/<int:course_id>/progress": students_only(200, student=403, refunded=403),
    "POST /api/lessons/<int:lesson_id>/complete": students_only(200, student=403, refunded=403),
    # ---- quizzes --------------------------------------------------------------------------------
    "GET /api/modules/<int:module_id>/quizzes": signed_in(
        200, student=403, refunded=403, other_instructor=403
    ),
    "POST /api/modules/<int:module_id>/quizzes": staff_owned(201, body=QUIZ),
    "PATCH /api/quizzes/<int:quiz_id>": staff_owned(200, body={"question": "Q2?"}),
    "DELETE /api/quizzes/<int:quiz_id>": staff_owned(204),
    "POST /api/quizzes/<int:quiz_id>/attempts": signed_in(
        201,
        body={"selected_option": 0},
        student=403,
        refunded=403,
        other_instructor=403,
        owner=403,
        admin=403,
    ),
    "GET /api/me/quiz-results": students_only(200),
    # ---- payments -------------------------------------------------------------------------------
    "POST /api/payments/order": students_only(409, body=lambda w, role: {"course_id": w.course.id}),  # free
    "POST /api/payments/verify": students_only(
        404,
        body={"razorpay_order_id": "order_x", "razorpay_payment_id": "pay_x", "razorpay_signature": "0" * 64},
    ),
    "GET /api/payments/history": students_only(200),
    "GET /api/payments/<int:payment_id>": signed_in(404, enrolled=200, admin=200),
    "POST /api/admin/payments/<int:payment_id>/refund": admin_only(202),
    # ---- certificates and jobs ------------------------------------------------------------------
    "GET /api/me/certificates": students_only(200),
    "GET /api/certificates/<int:certificate_id>": signed_in(404, enrolled=200, admin=200),
    "GET /api/certificates/<int:certificate_id>/download": signed_in(404, enrolled=409, admin=409),
    "POST /api/admin/certificates/<int:certificate_id>/render": admin_only(202),
    "GET /api/jobs/<string:job_id>": signed_in(404, enrolled=200, admin=200),
}


# ---- admin: /api/admin, admin role only (the role check comes before any lookup) -------------
PENDING = {"course_id": lambda w: w.pending_course.id}
REPORT = {"job_id": lambda w: w.report_job.id}
EXPECTED.update(
    {
        "GET /api/admin/courses": admin_only(200),
        "POST /api/admin/courses/<int:course_id>/approve": admin_only(200, path=PENDING),
        "POST /api/admin/courses/<int:course_id>/reject": admin_only(
            200, body={"reason": "Needs more lessons"}, path=PENDING
        ),
        "POST /api/admin/courses/<int:course_id>/unpublish": admin_only(
            200, body={"reason": "Outdated"}
        ),  # approved
        "GET /api/admin/users": admin_only(200),
        "POST /api/admin/users/<int:user_id>/suspend": admin_only(200, body={"reason": "Spam"}),
        "POST /api/admin/users/<int:user_id>/unsuspend": admin_only(
            200, path={"user_id": lambda w: w.suspended.id}
        ),
        "POST /api/admin/users/<int:user_id>/promote": admin_only(200, body={"role": "instructor"}),
        "GET /api/admin/stats": admin_only(200),
        "POST /api/admin/reports": admin_only(202, body={"type": "users", "format": "csv"}),
        "GET /api/admin/reports": admin_only(200),
        "GET /api/admin/reports/<string:job_id>": admin_only(200, path=REPORT),
        "GET /api/admin/reports/<string:job_id>/download": admin_only(409, path=REPORT),  # still queued
        "GET /api/admin/audit-log": admin_only(200),
        "GET /api/admin/flags": admin_only(200),
        "POST /api/admin/flags/<int:flag_id>/resolve": admin_only(200, body={"action": "dismiss"}),
    }
)


# ---- forum: readers are enrolled students, the course's instructor and admins; anyone else 404 --
# The world's post is by `enrolled`, its reply by `owner`. Writers: enrolled students and the
# course's instructor; admins moderate (403 on writing, voting, flagging).
NON_READERS = ("student", "refunded", "other_instructor")


def forum(code: int, **kwargs) -> Expect:
    return signed_in(code, **{**{role: 404 for role in NON_READERS}, **kwargs})


POST = {"title": "How do outer joins work?", "body": "An example, please."}
EXPECTED.update(
    {
        "GET /api/courses/<int:course_id>/posts": forum(200),
        "POST /api/courses/<int:course_id>/posts": forum(201, body=POST, admin=403),
        "GET /api/posts/<int:post_id>": forum(200),
        "PATCH /api/posts/<int:post_id>": forum(403, body={"title": "How do LEFT joins work?"}, enrolled=200),
        "DELETE /api/posts/<int:post_id>": forum(204),  # author, instructor, admin
        "GET /api/posts/<int:post_id>/replies": forum(200),
        "POST /api/posts/<int:post_id>/replies": forum(201, body={"body": "Use LEFT JOIN."}, admin=403),
        "PATCH /api/replies/<int:reply_id>": forum(403, body={"body": "Edited."}, owner=200),
        "DELETE /api/replies/<int:reply_id>": forum(204, enrolled=403),  # author (owner) and admin
        "POST /api/posts/<int:post_id>/vote": forum(
            200, body={"value": 1}, enrolled=409, admin=403
        ),  # own post
        "POST /api/replies/<int:reply_id>/vote": forum(
            200, body={"value": 1}, owner=409, admin=403
        ),  # own reply
        "POST /api/posts/<int:post_id>/accept": forum(200, body=lambda w, role: {"reply_id": w.reply.id}),
        # Only enrolled students flag, never their own content.
        "POST /api/posts/<int:post_id>/flag": forum(403, body={"reason": "spam"}, enrolled=409),
        "POST /api/replies/<int:reply_id>/flag": forum(403, body={"reason": "spam"}, enrolled=201),
    }
)


# ---- gamification -----------------------------------------------------------------------------
EXPECTED.update(
    {
        "GET /api/me/xp": signed_in(200),
        "GET /api/me/badges": signed_in(200),
        "GET /api/badges": every(200),
        "GET /api/leaderboard": every(
            200, suspended=403
        ),  # a token is optional; a suspended user's is refused
    }
)


# ---- Google sign-in: the one-time code from the callback is the credential, not a bearer token ---
def _oauth_code(w, role):
    from common.accounts import oauth_codes

    return {"code": oauth_codes.issue_code(user_id=w.student.id)}


EXPECTED["POST /api/auth/oauth/exchange"] = every(200, body=_oauth_code)


# ---- Open Badges credentials: the .well-known documents and the status list are public ----------
EXPECTED.update(
    {
        "GET /.well-known/jwks.json": every(200),
        "GET /.well-known/did.json": every(200),
        "GET /api/credentials/status/<int:list_id>": every(200),
        "GET /api/certificates/<int:certificate_id>/credential": signed_in(404, enrolled=200, admin=200),
        "GET /api/me/badges/<string:code>/credential": signed_in(404, enrolled=200),
        "POST /api/admin/certificates/<int:certificate_id>/revoke": admin_only(200, body={"reason": "fraud"}),
    }
)
