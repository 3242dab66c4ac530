"""Regression tests (issue 12): real job claims with a lease, bounded retries, hidden SQL parameters."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from common.certificates import service as certificates
from common.certificates.models import Certificate
from common.db import db, utcnow
from common.flows.payment_events import handle_webhook_event, reconcile
from common.jobs import service as jobs
from common.jobs.models import Job
from common.payments.gateway import GatewayError
from common.payments.models import Payment, WebhookEvent
from common.payments.webhooks import failed_events
from tests.factories import auth_headers, make_certificate, make_course, make_user
from tests.standins.razorpay_fixtures import *  # noqa: F401,F403


def fresh_job(job_id) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


# --- defect 5: a claim is a claim -------------------------------------------------------------------
def test_only_one_caller_claims_a_job_until_its_lease_expires(student):
    job, _ = jobs.create_job(kind="export", owner_id=student.id)
    assert jobs.claim(job.id)
    assert not jobs.claim(job.id)  # running under a live lease: nobody else
    assert fresh_job(job.id).lease_expires_at is not None
    db.session.execute(
        update(Job).where(Job.id == job.id).values(lease_expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert jobs.claim(job.id)  # the holder died: its lease ran out, a redelivery takes over
    assert not jobs.claim(job.id)
    jobs.release(job.id)  # a task gives its claim up before scheduling its retry
    assert fresh_job(job.id).status == "running" and jobs.claim(job.id)
    jobs.succeed(job.id)
    assert not jobs.claim(job.id)


def test_claims_racing_for_one_job_let_exactly_one_through(app, student):
    from tests.concurrency import run_together

    job_id = jobs.create_job(kind="export", owner_id=student.id)[0].id
    results = run_together(app, [lambda: jobs.claim(job_id)] * 6)
    assert sorted(results) == [False] * 5 + [True]


def test_fulfil_task_respects_a_claim_held_elsewhere(app, client, razorpay, student, instructor):
    course = make_course(instructor, price=5000)
    order_id = client.post(
        "/api/payments/order", json={"course_id": course.id}, headers=auth_headers(student)
    ).get_json()["order_id"]
    pay = razorpay.state.checkout(order_id)["razorpay_payment_id"]
    payment = db.session.execute(select(Payment)).scalar_one()
    job, _ = jobs.create_job(
        kind="payment_fulfilment",
        owner_id=student.id,
        params={"payment_id": payment.id, "razorpay_payment_id": pay},
    )
    assert jobs.claim(job.id)  # another worker is on it
    task(app, "payments.fulfil_order").apply(args=[job.id])
    assert razorpay.state.seen("GET", "/v1/payments/") == 0
    assert fresh_job(job.id).status == "running"


def test_render_task_respects_a_claim_held_elsewhere(app, student, instructor):
    certificate = make_certificate(student, make_course(instructor))
    job, _ = jobs.create_job(
        kind="certificate_render", owner_id=None, params={"certificate_id": certificate.id}
    )
    assert jobs.claim(job.id)
    certificates.render_certificate(certificate_id=certificate.id, job_id=job.id)
    db.session.expire_all()
    assert db.session.get(Certificate, certificate.id).render_attempts == 0


# --- defect 7: bounded, backed-off retries that end visibly -----------------------------------------
def test_a_webhook_that_keeps_failing_backs_off_then_fails_visibly(
    app, client, razorpay, student, instructor, eager_tasks
):
    course = make_course(instructor, price=5000)
    order_id = client.post(
        "/api/payments/order", json={"course_id": course.id}, headers=auth_headers(student)
    ).get_json()["order_id"]
    razorpay.state.checkout(order_id)
    body, headers = webhook_request(razorpay, "payment.captured", order_id=order_id)
    razorpay.state.set_fault("gateway_error", prefix="/v1/")  # reconcile cannot settle it either
    # Stored as record_webhook stores it, but not queued: a live test worker must not handle it too.
    event = WebhookEvent(
        event_id=headers["x-razorpay-event-id"],
        event_type="payment.captured",
        payload=json.loads(body),
        status="received",
    )
    db.session.add(event)
    db.session.commit()
    with pytest.raises(GatewayError):
        handle_webhook_event(event_row_id=event.id)
    db.session.expire_all()
    row = db.session.get(WebhookEvent, event.id)
    assert row.status == "received" and row.attempts == 1 and row.next_attempt_at > utcnow()
    assert reconcile(older_than_seconds=0)["requeued"] == 0  # backing off: not re-queued yet
    db.session.execute(update(WebhookEvent).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert reconcile(older_than_seconds=0)["requeued"] == 1  # due now: re-queued (and tried, in-process)
    db.session.expire_all()
    assert db.session.get(WebhookEvent, event.id).attempts == 2
    limit = app.config["WEBHOOK_MAX_ATTEMPTS"]
    statuses = []
    for _ in range(limit):
        try:
            statuses.append(handle_webhook_event(event_row_id=event.id))
        except Exception:
            statuses.append("raised")
    db.session.expire_all()
    row = db.session.get(WebhookEvent, event.id)
    assert row.status == "failed" and row.attempts == limit and "gave up" in row.error
    assert statuses == ["raised"] * (limit - 3) + ["failed"] * 3  # attempts 3 .. limit-1 raise, then it stops
    assert [e.id for e in failed_events()] == [event.id]  # what an admin list reads
    assert reconcile(older_than_seconds=0)["requeued"] == 0


def test_sweep_stops_requeueing_a_render_that_keeps_failing(app, student, instructor, eager_tasks):
    limit = app.config["CERT_MAX_RENDER_ATTEMPTS"]
    poison = make_certificate(student, make_course(instructor))
    waiting = make_certificate(make_user(), make_course(instructor))
    due = make_certificate(make_user(), make_course(instructor))
    long_ago = utcnow() - timedelta(days=1)
    db.session.execute(update(Certificate).values(issue_date=long_ago))
    db.session.execute(
        update(Certificate)
        .where(Certificate.id == poison.id)
        .values(render_attempts=limit, last_attempt_at=long_ago)
    )
    db.session.execute(
        update(Certificate)
        .where(Certificate.id == waiting.id)
        .values(render_attempts=2, last_attempt_at=utcnow())
    )
    db.session.execute(
        update(Certificate)
        .where(Certificate.id == due.id)
        .values(render_attempts=2, last_attempt_at=long_ago)
    )
    db.session.commit()
    assert certificates.requeue_stuck(older_than_seconds=60) == 1  # only `due`
    db.session.expire_all()
    stuck = db.session.get(Certificate, poison.id)
    assert stuck.status == "failed" and "gave up" in stuck.error
    assert db.session.get(Certificate, waiting.id).status == "pending"
    assert [c.id for c in certificates.failed_certificates()] == [poison.id]


def test_a_redelivered_render_past_the_bound_fails_its_job(app, student, instructor):
    certificate = make_certificate(student, make_course(instructor))
    certificate.render_attempts = app.config["CERT_MAX_RENDER_ATTEMPTS"]
    db.session.commit()
    job, _ = jobs.create_job(
        kind="certificate_render", owner_id=None, params={"certificate_id": certificate.id}
    )
    certificates.render_certificate(certificate_id=certificate.id, job_id=job.id)
    db.session.expire_all()
    assert db.session.get(Certificate, certificate.id).status == "failed"
    assert fresh_job(job.id).status == "failed" and "gave up" in fresh_job(job.id).error


# --- defect 8: SQL parameters never reach logs or error messages -----------------------------------
def test_database_errors_do_not_carry_their_parameters(app):
    secret = "tok-4f7a9c-secret@example.com"
    with pytest.raises(DBAPIError) as info:  # PostgreSQL's own message does not echo the value here
        db.session.execute(text("SELECT CAST(:value AS text), 1 / 0"), {"value": secret})
    db.session.rollback()
    assert secret not in str(info.value) and "parameters hidden" in str(info.value)
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True
