"""Payments API, POST /payments/order: orders at the stored course price, roles, Razorpay faults, limits."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from common.db import db
from tests.factories import auth_headers, enroll, make_course
from tests.standins.razorpay_fixtures import *  # noqa: F401,F403
from tests.standins.razorpay_fixtures import PRICE
from tests.web.payments_api import order, payments


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
    ) == (body["id"], "created", PRICE, student.id, course.id, "Paid Python")
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
