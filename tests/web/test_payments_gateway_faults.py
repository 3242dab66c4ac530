"""The Razorpay stand-in answering 500s, garbage and timeouts: clean 502/503 at order time, and verified
orders whose fulfilment hit the fault are settled later by the reconciler (issue 12)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from common.db import db
from common.flows.payment_events import reconcile
from common.jobs.models import Job
from common.learning.models import Enrollment
from common.payments.models import Payment
from tests.factories import auth_headers
from tests.standins.razorpay_fixtures import *  # noqa: F401,F403

FAULTS = [("server_error", 502), ("html_502", 502), ("garbage", 502), ("wrong_json", 502), ("slow", 503)]


def order(client, student, course):
    return client.post("/api/payments/order", json={"course_id": course.id}, headers=auth_headers(student))


def fault(app, razorpay, mode, prefix="/v1/"):
    if mode == "slow":
        app.config["RAZORPAY_TIMEOUT_SECONDS"] = 0.3
        razorpay.state.set_fault("slow", delay=3, prefix=prefix)
    else:
        razorpay.state.set_fault(mode, prefix=prefix)


@pytest.mark.parametrize("mode,status", FAULTS)
def test_order_time_faults_are_a_clean_502_or_503(app, client, razorpay, student, course, mode, status):
    fault(app, razorpay, mode)
    response = order(client, student, course)
    body = response.get_json()
    assert response.status_code == status and body["code"] == status and "Razorpay" in body["message"]
    if status == 503:
        assert response.headers["Retry-After"]
    assert db.session.execute(select(Payment)).first() is None
    razorpay.state.clear_fault()
    assert order(client, student, course).status_code == 201


@pytest.mark.parametrize("mode", [m for m, _ in FAULTS])
def test_fulfilment_faults_leave_the_order_for_the_reconciler(
    app, client, razorpay, student, course, mode, eager_tasks
):
    order_id = order(client, student, course).get_json()["order_id"]
    checkout = razorpay.state.checkout(order_id)
    fault(app, razorpay, mode, prefix="/v1/payments/")
    response = client.post("/api/payments/verify", json=checkout, headers=auth_headers(student))
    assert response.status_code == 202 and response.get_json()["enrolled"] is False
    job = db.session.get(Job, response.get_json()["job_id"])
    assert job.status == "failed" and job.error  # in-process: one try, the rest is the reconciler's
    payment = db.session.execute(select(Payment)).scalar_one()
    assert payment.status == "created" and payment.payment_id == checkout["razorpay_payment_id"]
    assert db.session.execute(select(Enrollment)).first() is None
    razorpay.state.clear_fault()
    app.config["RAZORPAY_TIMEOUT_SECONDS"] = 5
    assert reconcile(older_than_seconds=0)["paid"] == 1
    db.session.expire_all()
    assert db.session.execute(select(Payment)).scalar_one().status == "paid"
    [enrollment] = db.session.execute(select(Enrollment)).scalars().all()
    assert enrollment.payment_id == payment.id and enrollment.status == "active"


@pytest.mark.parametrize("mode", ["garbage", "wrong_json", "server_error"])
def test_reconcile_survives_garbage_and_settles_on_the_next_run(app, client, razorpay, student, course, mode):
    order_id = order(client, student, course).get_json()["order_id"]
    razorpay.state.checkout(order_id)
    razorpay.state.set_fault(mode, prefix="/v1/orders/")
    stats = reconcile(older_than_seconds=0)
    assert stats["errors"] == 1 and stats["paid"] == 0
    razorpay.state.clear_fault()
    assert reconcile(older_than_seconds=0)["paid"] == 1
