"""Payments API, POST /payments/verify: Checkout verification, fulfilment jobs, refused signatures."""

from __future__ import annotations

import logging

import pytest

from common.catalog.models import Course
from common.db import db
from common.jobs.models import Job
from tests.factories import auth_headers, make_user
from tests.standins.razorpay_fixtures import *  # noqa: F401,F403
from tests.standins.razorpay_fixtures import PRICE
from tests.web.payments_api import buy, enrollments, order, payments, verify


# --- POST /payments/verify -----------------------------------------------------------------------
def test_full_purchase_in_process(client, razorpay, student, course, eager_tasks):
    body = order(client, student, course.id).get_json()
    checkout = razorpay.state.checkout(body["order_id"])
    response = verify(client, student, checkout)
    assert response.status_code == 200
    result = response.get_json()
    assert result["enrolled"] is True and result["payment_status"] == "paid" and result["job_id"]
    assert result["payment_id"] == checkout["razorpay_payment_id"] and result["status_url"].startswith("http")
    [payment] = payments()
    assert payment.status == "paid" and payment.payment_id == checkout["razorpay_payment_id"]
    assert payment.verified_at and payment.paid_at
    [enrollment] = enrollments()
    assert (
        enrollment.user_id,
        enrollment.course_id,
        enrollment.source,
        enrollment.payment_id,
        enrollment.status,
    ) == (student.id, course.id, "payment", payment.id, "active")
    assert db.session.get(Course, course.id).enrollment_count == 1
    assert razorpay.state.seen("GET", f"/v1/payments/{checkout['razorpay_payment_id']}") == 1
    # Verifying again is harmless, and the course cannot be bought twice.
    again = verify(client, student, checkout)
    assert again.status_code == 200 and again.get_json()["enrolled"] is True
    assert order(client, student, course.id).status_code == 409
    assert len(enrollments()) == 1


def test_verify_hands_fulfilment_to_a_job(app, client, razorpay, student, course):
    body = order(client, student, course.id).get_json()
    checkout = razorpay.state.checkout(body["order_id"])
    response = verify(client, student, checkout)
    assert response.status_code == 202
    result = response.get_json()
    assert result["enrolled"] is False and result["id"] == body["id"]
    assert result["payment_id"] == checkout["razorpay_payment_id"]
    assert response.headers["Location"] == result["status_url"]
    assert result["status_url"] == f"{app.config['PUBLIC_BASE_URL']}/api/jobs/{result['job_id']}"
    job = db.session.get(Job, result["job_id"])
    assert job.kind == "payment_fulfilment" and job.owner_id == student.id
    # The same verify again answers with the same job (one fulfilment per payment).
    assert verify(client, student, checkout).get_json()["job_id"] == result["job_id"]
    task(app, "payments.fulfil_order").apply(args=[result["job_id"]])
    db.session.expire_all()
    job = db.session.get(Job, result["job_id"])
    assert job.status == "succeeded" and job.result["enrolled"] is True, job.error
    assert payments()[0].status == "paid" and len(enrollments()) == 1
    polled = client.get(result["status_url"], headers=auth_headers(student)).get_json()
    assert polled["status"] == "succeeded"
    task(app, "payments.fulfil_order").apply(args=[result["job_id"]])  # a redelivery is a no-op
    assert len(enrollments()) == 1


@pytest.mark.parametrize(
    "signature", ["", "zz", "g" * 64, "a" * 63, "a" * 65, "é" * 64, 123, None, ["a"], {"x": 1}, "a" * 10000]
)
def test_malformed_signatures_are_400(client, razorpay, student, course, signature):
    body = order(client, student, course.id).get_json()
    checkout = razorpay.state.checkout(body["order_id"])
    response = verify(client, student, {**checkout, "razorpay_signature": signature})
    assert response.status_code == 400, response.get_json()
    assert payments()[0].payment_id is None and enrollments() == []


def test_wrong_signatures_are_400(client, razorpay, student, course):
    from standins.razorpay import sign

    body = order(client, student, course.id).get_json()
    checkout = razorpay.state.checkout(body["order_id"])
    good = checkout["razorpay_signature"]
    tampered = ("0" if good[0] != "0" else "1") + good[1:]
    wrong_secret = sign(f"{body['order_id']}|{checkout['razorpay_payment_id']}", "not-the-secret")
    other_payment = sign(f"{body['order_id']}|pay_SomethingElse1", "suite-key-secret")
    for signature in (tampered, wrong_secret, other_payment):
        response = verify(client, student, {**checkout, "razorpay_signature": signature})
        assert response.status_code == 400 and "verification failed" in response.get_json()["message"]
    assert payments()[0].payment_id is None and enrollments() == []
    # Upper-case hex of the right signature is the same signature.
    assert verify(client, student, {**checkout, "razorpay_signature": good.upper()}).status_code == 202


def test_missing_or_malformed_ids_are_422(client, razorpay, student):
    assert (
        verify(client, student, {"razorpay_order_id": "order_x", "razorpay_payment_id": "pay_y"}).status_code
        == 422
    )
    bad = {
        "razorpay_order_id": "order_x'; --",
        "razorpay_payment_id": "pay_y",
        "razorpay_signature": "a" * 64,
    }
    assert verify(client, student, bad).status_code == 422


def test_another_users_order_is_404(client, razorpay, student, course):
    body = order(client, student, course.id).get_json()
    checkout = razorpay.state.checkout(body["order_id"])
    thief = make_user("student")
    response = verify(client, thief, checkout)
    assert response.status_code == 404
    assert (
        verify(client, student, {**checkout, "razorpay_order_id": "order_Unknown0000001"}).status_code == 404
    )
    assert payments()[0].payment_id is None and enrollments() == []


def test_verify_roles(client, razorpay, instructor, admin):
    payload = {"razorpay_order_id": "order_x", "razorpay_payment_id": "pay_y", "razorpay_signature": "a" * 64}
    assert client.post("/api/payments/verify", json=payload).status_code == 401
    assert verify(client, instructor, payload).status_code == 403
    assert verify(client, admin, payload).status_code == 403


@pytest.mark.parametrize("tamper", [{"amount": PRICE - 100}, {"currency": "USD"}])
def test_amount_or_currency_mismatch_is_not_fulfilled(
    client, razorpay, student, course, eager_tasks, caplog, tamper, monkeypatch
):
    # Alembic's logging setup (the session's migration) disables loggers that existed before it.
    monkeypatch.setattr(logging.getLogger("common.payments.service"), "disabled", False)
    body = order(client, student, course.id).get_json()
    checkout = razorpay.state.checkout(body["order_id"], **tamper)
    response = verify(client, student, checkout)
    assert response.status_code == 202
    result = response.get_json()
    assert result["payment_status"] == "failed" and result["enrolled"] is False
    [payment] = payments()
    assert payment.status == "failed" and "amount mismatch" in payment.failure_reason
    assert enrollments() == []
    job = db.session.get(Job, result["job_id"])
    assert job.status == "failed" and "mismatch" in job.error
    assert any("not fulfilled" in r.getMessage() for r in caplog.records)


def test_uncaptured_payment_is_left_for_later(client, razorpay, student, course, eager_tasks):
    body = order(client, student, course.id).get_json()
    checkout = razorpay.state.checkout(body["order_id"], outcome="authorized")
    result = verify(client, student, checkout).get_json()
    assert result["payment_status"] == "created"
    assert db.session.get(Job, result["job_id"]).status == "failed"
    assert payments()[0].status == "created" and enrollments() == []


def test_razorpay_down_during_fulfilment_keeps_the_order_open(client, razorpay, student, course, eager_tasks):
    body = order(client, student, course.id).get_json()
    checkout = razorpay.state.checkout(body["order_id"])
    razorpay.state.set_fault("html_502")
    result = verify(client, student, checkout).get_json()
    assert result["payment_status"] == "created" and result["enrolled"] is False
    assert "unexpected answer" in db.session.get(Job, result["job_id"]).error
    assert payments()[0].payment_id == checkout["razorpay_payment_id"] and enrollments() == []


def test_verify_of_an_order_paid_with_another_payment_is_409(client, razorpay, student, course, eager_tasks):
    payment = buy(client, razorpay, student, course)
    from standins.razorpay import sign

    other = {
        "razorpay_order_id": payment.order_id,
        "razorpay_payment_id": "pay_Other000000001",
        "razorpay_signature": sign(f"{payment.order_id}|pay_Other000000001", "suite-key-secret"),
    }
    assert verify(client, student, other).status_code == 409
