"""The objects the authorization matrix acts on, built fresh for every (route, role) request.

One free approved course owned by `owner`, with a module, a lesson and a quiz; `enrolled` is actively
enrolled (with a ready certificate and a paid payment), `refunded` was enrolled and refunded,
`student` never enrolled, `suspended` was a student whose account was suspended after sign-in.
Domains add objects with `@world_builder` and path values with `PATH_VALUES[name] = lambda w: ...`.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace

from common.accounts import tokens
from common.accounts.service import set_suspended
from common.db import db
from common.forum.models import Flag, Post, Reply
from common.jobs.service import create_job
from common.payments.models import Payment
from tests.factories import enroll, make_certificate, make_course, make_quiz, make_user

ROLES = ("anonymous", "student", "enrolled", "refunded", "other_instructor", "owner", "admin", "suspended")
WORLD_BUILDERS = []
_seq = itertools.count(1)


def world_builder(fn):
    """Register fn(world) to add a domain's objects (posts, badges ...) to every world."""
    WORLD_BUILDERS.append(fn)
    return fn


def _payment(user, course, status):
    n = next(_seq)
    payment = Payment(
        user_id=user.id,
        course_id=course.id,
        course_title=course.title,
        amount=100,
        currency="INR",
        receipt=f"rcpt_authz_{n}",
        order_id=f"order_authz_{n}",
        payment_id=f"pay_authz_{n}",
        status=status,
    )
    db.session.add(payment)
    db.session.commit()
    return payment


def build_world() -> SimpleNamespace:
    w = SimpleNamespace()
    w.owner, w.other_instructor, w.admin = (
        make_user("instructor"),
        make_user("instructor"),
        make_user("admin"),
    )
    w.student, w.enrolled, w.refunded, w.suspended = (make_user() for _ in range(4))
    w.course = make_course(w.owner, modules=1, lessons=1)
    w.module = w.course.modules[0]
    w.lesson = w.module.lessons[0]
    w.quiz = make_quiz(w.module, options=["a", "b"], correct_option=0)
    enroll(w.enrolled, w.course)
    enroll(w.suspended, w.course)
    refunded = enroll(w.refunded, w.course, source="payment")
    refunded.status = "revoked"
    w.course.enrollment_count -= 1
    db.session.commit()
    w.payment = _payment(w.enrolled, w.course, "paid")
    w.refunded_payment = _payment(w.refunded, w.course, "refunded")
    w.certificate = make_certificate(w.enrolled, w.course, status="ready")
    w.job, _ = create_job(kind="certificate", owner_id=w.enrolled.id)
    w.pairs = {role: tokens.issue_tokens(getattr(w, role)) for role in ROLES if role != "anonymous"}
    set_suspended(
        actor_id=w.admin.id, user_id=w.suspended.id, suspended=True
    )  # its tokens were minted before
    for builder in WORLD_BUILDERS:
        builder(w)
    return w


def headers(w, role: str, kind: str = "access") -> dict:
    if role == "anonymous":
        return {}
    return {"Authorization": f"Bearer {w.pairs[role][kind + '_token']}"}


@world_builder
def _forum(w) -> None:
    """A post by `enrolled` with a reply by `owner`; a classmate (also enrolled) has flagged the post."""
    w.classmate = make_user()
    enroll(w.classmate, w.course)
    w.post = Post(
        course_id=w.course.id, user_id=w.enrolled.id, title="How do joins work?", body="Stuck on lesson 1."
    )
    db.session.add(w.post)
    db.session.flush()
    w.reply = Reply(post_id=w.post.id, user_id=w.owner.id, body="Try an outer join.")
    w.post.reply_count = 1
    db.session.add(w.reply)
    db.session.flush()
    w.flag = Flag(post_id=w.post.id, user_id=w.classmate.id, reason="spam", status="open")
    db.session.add(w.flag)
    db.session.commit()


@world_builder
def _admin(w) -> None:
    """A pending course to review, a user to act on (never the caller), and a queued report of `admin`'s."""
    w.pending_course = make_course(w.owner, status="pending", modules=1, lessons=1)
    w.target = make_user()
    w.report_job, _ = create_job(
        kind="report", owner_id=w.admin.id, params={"type": "users", "format": "csv"}
    )


# Values for the URL map's path arguments, by argument name.
PATH_VALUES = {
    "course_id": lambda w: w.course.id,
    "module_id": lambda w: w.module.id,
    "lesson_id": lambda w: w.lesson.id,
    "quiz_id": lambda w: w.quiz.id,
    "certificate_id": lambda w: w.certificate.id,
    "payment_id": lambda w: w.payment.id,
    "verification_code": lambda w: w.certificate.verification_code,
    "job_id": lambda w: w.job.id,
    "filename": lambda w: "swagger-ui.css",
    "post_id": lambda w: w.post.id,
    "reply_id": lambda w: w.reply.id,
    "flag_id": lambda w: w.flag.id,
    "user_id": lambda w: w.target.id,
}


@world_builder
def _credentials(w) -> None:
    """`enrolled` has earned the first-lesson badge (its credential is theirs alone)."""
    from common.gamification.service import grant_badge

    grant_badge(user_id=w.enrolled.id, code="first-lesson")
    db.session.commit()


PATH_VALUES["code"] = lambda w: "first-lesson"
PATH_VALUES["list_id"] = lambda w: 1
