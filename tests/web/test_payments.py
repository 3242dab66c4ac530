"""Payments API: orders at the stored price, Checkout verification, fulfilment, history, refunds."""

from __future__ import annotations

import logging
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from common.admin.models import AuditLog
from common.catalog.models import Course
from common.db import db
from common.jobs.models import Job
from common.learning.models import Enrollment
from common.payments.models import Payment
from tests.factories import auth_headers, enroll, make_course, make_user
from tests.standins.razorpay_fixtures import *  # noqa: F401,F403

PRICE = 49900


@pytest.fixture
def course(instructor):
    return make_course(instructor, price=PRICE, title="Paid Python")


def order(client, user, course_id):
    return client.post("/api/payments/order", json={"course_id": course_id}, headers=auth_headers(user))


def verify(client, user, payload):
    return client.post("/api/payments/verify", json=payload, headers=auth_headers(user))


def payments():
    db.session.expire_all()
    return db.session.execute(select(Payment).order_by(Payment.id)).scalars().all()


def enrollments():
    db.session.expire_all()
    return db.session.execute(select(Enrollment)).scalars().all()


def buy(client, razorpay, user, course):
    """Order, play Checkout and verify in-process; returns the paid Payment."""
    order_id = order(client, user, course.id).get_json()["order_id"]
    response = verify(client, user, razorpay.state.checkout(order_id))
    assert response.status_code == 200, response.get_json()
    return db.session.execute(select(Payment).where(Payment.order_id == order_id)).scalar_one()


# --- POST /payments/order ------------------------------------------------------------------------
def test_order_is_created_at_the_stored_course_price(client, razorpay, student, course, app):
    response = order(client, student, course.id)
    assert response.status_code == 201
    body = response.get_json()
    assert body["amount"] == PRICE and body["currency"] == "INR"
    assert body["key_id"] == app.config["RAZORPAY_KEY_ID"] and body["reused"] is False
    assert body["order_id"].startswith("order_")
    [payment] = payments()
    assert (
        payment.id,
        payment.status,
        payment.amount,
        payment.user_id,
        payment.course_id,
        payment.course_title,
    ) == (body["payment_id"], "created", PRICE, student.id, course.id, "Paid Python")
    remote = razorpay.state.orders[body["order_id"]]
    assert remote["amount"] == PRICE and remote["receipt"] == payment.receipt and remote["currency"] == "INR"
    assert remote["notes"] == {"user_id": str(student.id), "course_id": str(course.id)}


@pytest.mark.parametrize("extra", [{"amount": 100}, {"currency": "USD"}, {"course_id": "1"}, {}])
def test_order_rejects_client_sent_amount_or_bad_course_id(client, razorpay, student, course, extra):
    body = {"course_id": course.id, **extra} if extra != {} else {}
    response = client.post("/api/payments/order", json=body, headers=auth_headers(student))
    assert response.status_code == 422
    assert payments() == [] and razorpay.state.orders == {}


def test_ordering_twice_reuses_the_open_order(client, razorpay, student, course):
    first = order(client, student, course.id).get_json()
    second = order(client, student, course.id)
    assert second.status_code == 200 and second.get_json()["reused"] is True
    assert second.get_json()["order_id"] == first["order_id"]
    assert len(payments()) == 1 and len(razorpay.state.orders) == 1


def test_concurrent_orders_make_one_razorpay_order(app, razorpay, student, course):
    razorpay.state.set_fault("slow", delay=0.3, prefix="/v1/orders", count=1)
    headers, course_id = auth_headers(student), course.id

    def place(_):
        with app.test_client() as c:
            return c.post("/api/payments/order", json={"course_id": course_id}, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=5) as pool:
        codes = sorted(pool.map(place, range(5)))
    assert codes == [200, 200, 200, 200, 201]
    assert len(payments()) == 1 and len(razorpay.state.orders) == 1


def test_a_new_price_gets_a_new_order(client, razorpay, student, course):
    first = order(client, student, course.id).get_json()
    course.price = 59900
    db.session.commit()
    second = order(client, student, course.id).get_json()
    assert second["order_id"] != first["order_id"] and second["amount"] == 59900


def test_order_roles(client, razorpay, instructor, admin, course):
    assert client.post("/api/payments/order", json={"course_id": course.id}).status_code == 401
    assert order(client, instructor, course.id).status_code == 403
    assert order(client, admin, course.id).status_code == 403
    assert payments() == []


def test_order_refuses_invisible_free_or_owned_courses(client, razorpay, student, instructor, course):
    draft = make_course(instructor, price=PRICE, status="draft")
    pending = make_course(instructor, price=PRICE, status="pending")
    free = make_course(instructor, price=0)
    assert order(client, student, 999999).status_code == 404
    assert order(client, student, draft.id).status_code == 404
    assert order(client, student, pending.id).status_code == 404
    assert order(client, student, free.id).status_code == 409
    enroll(student, course, source="admin")
    response = order(client, student, course.id)
    assert response.status_code == 409 and "already enrolled" in response.get_json()["message"]
    assert payments() == []


@pytest.mark.parametrize(
    "mode,status", [("html_502", 502), ("server_error", 502), ("gateway_error", 502), ("unavailable", 502)]
)
def test_razorpay_errors_at_order_time_leave_no_row(client, razorpay, student, course, mode, status):
    razorpay.state.set_fault(mode)
    response = order(client, student, course.id)
    assert response.status_code == status
    assert response.get_json()["code"] == status and "Razorpay" in response.get_json()["message"]
    assert payments() == []
    razorpay.state.clear_fault()
    assert order(client, student, course.id).status_code == 201


def test_razorpay_slow_at_order_time_is_a_503(app, client, razorpay, student, course):
    app.config["RAZORPAY_TIMEOUT_SECONDS"] = 0.3
    razorpay.state.set_fault("slow", delay=3)
    response = order(client, student, course.id)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert "in time" in response.get_json()["message"]
    assert payments() == []


def test_razorpay_down_at_order_time_is_a_503(app, client, razorpay, student, course):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    app.config["RAZORPAY_API_BASE"] = f"http://127.0.0.1:{closed_port}"
    response = order(client, student, course.id)
    assert response.status_code == 503 and "unreachable" in response.get_json()["message"]
    assert payments() == []


def test_razorpay_refusing_the_order_is_a_502(client, razorpay, student, instructor):
    too_cheap = make_course(instructor, price=50)  # Razorpay's minimum is 100 paise
    response = order(client, student, too_cheap.id)
    assert response.status_code == 502 and "atleast" in response.get_json()["message"]
    assert payments() == []


def test_order_rate_limit(app, client, razorpay, student, course):
    app.config["RATELIMIT_PAYMENTS"] = "2 per minute"
    assert order(client, student, course.id).status_code == 201
    assert order(client, student, course.id).status_code == 200
    response = order(client, student, course.id)
    assert response.status_code == 429 and "Retry-After" in response.headers


# --- POST /payments/verify -----------------------------------------------------------------------
def test_full_purchase_in_process(client, razorpay, student, course, eager_tasks):
    body = order(client, student, course.id).get_json()
    checkout = razorpay.state.checkout(body["order_id"])
    response = verify(client, student, checkout)
    assert response.status_code == 200
    result = response.get_json()
    assert result["enrolled"] is True and result["payment_status"] == "paid" and result["job_id"]
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
    assert result["enrolled"] is False and result["payment_id"] == body["payment_id"]
    assert response.headers["Location"] == result["status_url"] == f"/api/jobs/{result['job_id']}"
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


# --- history and one payment ---------------------------------------------------------------------
def test_history_is_own_newest_first_and_paginated(client, razorpay, student, instructor, eager_tasks):
    courses = [make_course(instructor, price=PRICE + i * 100) for i in range(3)]
    for c in courses:
        order(client, student, c.id)
    other = make_user("student")
    order(client, other, courses[0].id)
    response = client.get("/api/payments/history?per_page=2", headers=auth_headers(student))
    assert response.status_code == 200
    page = response.get_json()
    assert page["total"] == 3 and page["pages"] == 2 and len(page["items"]) == 2
    assert [i["course_id"] for i in page["items"]] == [courses[2].id, courses[1].id]
    assert 'rel="next"' in response.headers["Link"]
    item = page["items"][0]
    assert set(item) >= {
        "id",
        "user_id",
        "course_id",
        "amount",
        "currency",
        "order_id",
        "payment_id",
        "status",
        "created_at",
    }
    assert item["created_at"].endswith("Z") and item["user_id"] == student.id


def test_history_roles(client, instructor, admin):
    assert client.get("/api/payments/history").status_code == 401
    assert client.get("/api/payments/history", headers=auth_headers(instructor)).status_code == 403
    assert client.get("/api/payments/history", headers=auth_headers(admin)).status_code == 403
    assert (
        client.get("/api/payments/history?per_page=101", headers=auth_headers(make_user())).status_code == 422
    )


def test_one_payment_for_its_owner_and_admins_only(client, razorpay, student, admin, course):
    payment_id = order(client, student, course.id).get_json()["payment_id"]
    url = f"/api/payments/{payment_id}"
    assert client.get(url, headers=auth_headers(student)).get_json()["status"] == "created"
    assert client.get(url, headers=auth_headers(admin)).status_code == 200
    assert client.get(url, headers=auth_headers(make_user("student"))).status_code == 404
    assert client.get(url, headers=auth_headers(make_user("instructor"))).status_code == 404
    assert client.get("/api/payments/999999", headers=auth_headers(admin)).status_code == 404
    assert client.get(url).status_code == 401


# --- refunds -------------------------------------------------------------------------------------
def refund(client, user, payment_id):
    return client.post(f"/api/admin/payments/{payment_id}/refund", headers=auth_headers(user))


def test_admin_refund_revokes_access_and_shows_in_history(
    client, razorpay, student, admin, course, eager_tasks
):
    payment = buy(client, razorpay, student, course)
    response = refund(client, admin, payment.id)
    assert response.status_code == 202
    job_id = response.get_json()["job_id"]
    db.session.expire_all()
    assert db.session.get(Job, job_id).status == "succeeded"
    [row] = payments()
    assert row.status == "refunded" and row.refund_id.startswith("rfnd_") and row.refunded_at
    [enrollment] = enrollments()
    assert enrollment.status == "revoked" and db.session.get(Course, course.id).enrollment_count == 0
    history = client.get("/api/payments/history", headers=auth_headers(student)).get_json()
    assert history["items"][0]["status"] == "refunded" and history["items"][0]["refund_id"] == row.refund_id
    remote = razorpay.state.payments[row.payment_id]
    assert remote["status"] == "refunded" and remote["amount_refunded"] == PRICE
    audit = db.session.execute(select(AuditLog)).scalar_one()
    assert (audit.actor_id, audit.action, audit.object_id) == (admin.id, "payment.refund", str(row.id))
    assert refund(client, admin, payment.id).status_code == 409
    # A refunded student may buy the course again.
    assert order(client, student, course.id).status_code == 201


def test_refund_pending_at_razorpay_revokes_when_processed(
    client, razorpay, student, admin, course, eager_tasks
):

    payment = buy(client, razorpay, student, course)
    razorpay.state.refund_mode = "pending"
    job_id = refund(client, admin, payment.id).get_json()["job_id"]
    [row] = payments()
    assert row.status == "paid" and row.refund_id and row.refund_requested_at
    assert db.session.get(Job, job_id).status == "succeeded"
    assert enrollments()[0].status == "active"
    assert refund(client, admin, payment.id).status_code == 409  # already under way
    razorpay.state.process_refund(row.refund_id)
    body, headers = webhook_request(razorpay, "refund.processed", refund_id=row.refund_id)
    assert client.post("/api/payments/webhook", data=body, headers=headers).status_code == 200
    assert payments()[0].status == "refunded" and enrollments()[0].status == "revoked"


def test_refund_refusals(client, razorpay, student, admin, instructor, course):
    payment_id = order(client, student, course.id).get_json()["payment_id"]
    assert refund(client, admin, payment_id).status_code == 409  # not paid
    assert refund(client, admin, 999999).status_code == 404
    assert refund(client, student, payment_id).status_code == 403
    assert refund(client, instructor, payment_id).status_code == 403
    assert client.post(f"/api/admin/payments/{payment_id}/refund").status_code == 401
    assert db.session.execute(select(func.count()).select_from(Job)).scalar_one() == 0


def test_refund_job_when_razorpay_fails(client, razorpay, student, admin, course, eager_tasks):
    payment = buy(client, razorpay, student, course)
    razorpay.state.set_fault("server_error")
    job_id = refund(client, admin, payment.id).get_json()["job_id"]
    db.session.expire_all()
    assert db.session.get(Job, job_id).status == "failed"
    [row] = payments()
    assert row.status == "paid" and row.refund_id is None and row.refund_requested_at is not None
    # Reconcile sees Razorpay never refunded it and lets the admin ask again.
    razorpay.state.clear_fault()
    from common.flows.payment_events import reconcile

    assert reconcile(older_than_seconds=0)["refunded"] == 0
    assert payments()[0].refund_requested_at is None
    assert refund(client, admin, payment.id).status_code == 202
    assert payments()[0].status == "refunded"


def test_refund_task_retry_after_a_lost_answer(app, client, razorpay, student, admin, course, eager_tasks):
    from common.payments import service

    payment = buy(client, razorpay, student, course)
    razorpay.state.create_refund(payment.payment_id, {})  # refunded at Razorpay, we never heard
    job = service.request_refund(payment_id=payment.id, admin_id=admin.id)
    task(app, "payments.refund").apply(args=[job.id])
    assert payments()[0].status == "refunded" and enrollments()[0].status == "revoked"
