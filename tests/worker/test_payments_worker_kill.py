"""A worker SIGKILLed mid-fulfilment: the task comes back (acks_late) and the student is enrolled once."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from common.db import db, utcnow
from common.jobs.models import Job
from common.jobs.service import create_job
from common.learning.models import Enrollment
from common.payments.models import Payment
from tests.factories import auth_headers, make_course
from tests.standins.razorpay_fixtures import *  # noqa: F401,F403
from tests.worker import killable

pytestmark = pytest.mark.slow
kill = killable.kill
VISIBILITY_TIMEOUT = killable.VISIBILITY_TIMEOUT
# A queue of its own, so the in-process test worker (celery_worker fixture) never takes the task.
QUEUE = "payments-kill-test"


def start_worker(name: str, razorpay_url: str, log_path: Path) -> subprocess.Popen:
    return killable.start_worker(
        name, QUEUE, log_path, RAZORPAY_API_BASE=razorpay_url, RAZORPAY_TIMEOUT_SECONDS="120"
    )


def test_worker_killed_mid_fulfilment(app, client, razorpay, student, instructor, tmp_path):
    course = make_course(instructor, price=19900)
    order_id = client.post(
        "/api/payments/order", json={"course_id": course.id}, headers=auth_headers(student)
    ).get_json()["order_id"]
    checkout = razorpay.state.checkout(order_id)
    # What verify records, with the fulfilment task sent to the test's own queue.
    payment = db.session.execute(select(Payment).where(Payment.order_id == order_id)).scalar_one()
    payment.payment_id, payment.verified_at = checkout["razorpay_payment_id"], utcnow()
    db.session.commit()
    job, _ = create_job(
        kind="payment_fulfilment",
        owner_id=student.id,
        params={"payment_id": payment.id, "razorpay_payment_id": checkout["razorpay_payment_id"]},
    )
    # The worker stalls in the middle of fulfilment: Razorpay's payment fetch hangs.
    razorpay.state.set_fault("slow", delay=60, prefix="/v1/payments/")
    task(app, "payments.fulfil_order").apply_async(args=[job.id], queue=QUEUE)
    log_path = tmp_path / "workers.log"
    first = start_worker("kill-first", razorpay.url, log_path)
    second = None
    try:
        wait_for(lambda: razorpay.state.seen("GET", "/v1/payments/") >= 1, timeout=60)
        kill(first)
        db.session.rollback()
        assert db.session.get(Job, job.id, populate_existing=True).status == "running"
        assert db.session.execute(select(Enrollment)).scalars().all() == []
        razorpay.state.clear_fault()
        time.sleep(VISIBILITY_TIMEOUT + 0.5)  # the unacked message becomes visible again
        second = start_worker("kill-second", razorpay.url, log_path)

        def enrolled():
            db.session.rollback()
            return db.session.execute(select(Enrollment)).scalars().all()

        [enrollment] = wait_for(enrolled, timeout=30)
        wait_for(
            lambda: db.session.get(Job, job.id, populate_existing=True).status == "succeeded", timeout=30
        )
    except AssertionError:
        print(log_path.read_text(errors="replace")[-5000:])
        raise
    finally:
        kill(first)
        if second is not None:
            kill(second)
    db.session.rollback()
    payment = db.session.get(Payment, payment.id)
    assert payment.status == "paid" and enrollment.payment_id == payment.id
    assert len(db.session.execute(select(Enrollment)).scalars().all()) == 1
    assert razorpay.state.seen("GET", f"/v1/payments/{checkout['razorpay_payment_id']}") == 2
