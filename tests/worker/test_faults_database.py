"""PostgreSQL connections killed (pg_terminate_backend on this test database's backends): the next request
succeeds, and a task whose connection was killed in flight is retried and finishes (issue 12)."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from common.db import db, utcnow
from common.jobs.models import Job
from common.jobs.service import create_job
from common.learning.models import Enrollment
from common.payments.models import Payment
from tests.conftest import TEST_DATABASE_URL
from tests.factories import auth_headers, make_course
from tests.standins.razorpay_fixtures import *  # noqa: F401,F403


def admin_connection() -> psycopg.Connection:
    url = make_url(TEST_DATABASE_URL).render_as_string(hide_password=False)
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def terminate(conn: psycopg.Connection, *, only_waiting_on_locks: bool = False, spare: tuple = ()) -> int:
    """pg_terminate_backend on this database's other backends; how many were killed."""
    sql = (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND NOT (pid = ANY(%s))"
    )
    if only_waiting_on_locks:
        sql += " AND wait_event_type = 'Lock'"
    return len(conn.execute(sql, (list(spare),)).fetchall())


def test_requests_succeed_after_every_connection_was_killed(client, student, instructor):
    course = make_course(instructor)
    headers = auth_headers(student)
    assert client.post(f"/api/courses/{course.id}/enroll", headers=headers).status_code == 201
    course_id = course.id
    db.session.remove()  # as at the end of a request: this test's own session holds no connection
    with admin_connection() as conn:
        assert terminate(conn) >= 1  # the app's pooled connections die
    assert client.get("/api/courses").status_code == 200
    response = client.get("/api/me/enrollments", headers=headers)
    assert response.status_code == 200 and response.get_json()["total"] == 1
    db.session.remove()
    with admin_connection() as conn:
        terminate(conn)
    assert client.get(f"/api/courses/{course_id}").status_code == 200


@pytest.mark.slow
def test_a_task_whose_connection_is_killed_in_flight_is_retried(
    app, client, razorpay, celery_worker, student, instructor
):
    course = make_course(instructor, price=19900)
    order_id = client.post(
        "/api/payments/order", json={"course_id": course.id}, headers=auth_headers(student)
    ).get_json()["order_id"]
    checkout = razorpay.state.checkout(order_id)
    payment = db.session.execute(select(Payment).where(Payment.order_id == order_id)).scalar_one()
    payment.payment_id, payment.verified_at = checkout["razorpay_payment_id"], utcnow()
    db.session.commit()
    payment_id = payment.id
    job, _ = create_job(
        kind="payment_fulfilment",
        owner_id=student.id,
        params={"payment_id": payment_id, "razorpay_payment_id": checkout["razorpay_payment_id"]},
    )
    job_id = job.id
    with admin_connection() as locker, admin_connection() as killer:
        # Hold the payment row: the task's mark_paid blocks on it, in the middle of its transaction.
        locker.autocommit = False
        locker.execute("SELECT id FROM payments WHERE id = %s FOR UPDATE", (payment_id,))
        task(app, "payments.fulfil_order").apply_async(args=[job_id])
        wait_for(
            lambda: terminate(killer, only_waiting_on_locks=True, spare=(locker.info.backend_pid,)) == 1,
            timeout=30,
        )
        locker.rollback()

    def finished():
        db.session.rollback()
        return db.session.get(Job, job_id, populate_existing=True).status in ("succeeded", "failed")

    wait_for(finished, timeout=60)  # the retry comes after its backoff (~5 s)
    db.session.rollback()
    assert db.session.get(Job, job_id).status == "succeeded", db.session.get(Job, job_id).error
    assert db.session.get(Payment, payment_id).status == "paid"
    assert len(db.session.execute(select(Enrollment)).scalars().all()) == 1
