"""The Razorpay stand-in speaks Razorpay's shapes through the real SDK, and its controls work over HTTP."""

from __future__ import annotations

import json

import pytest
import razorpay as razorpay_sdk
import requests
from razorpay.errors import BadRequestError, GatewayError, ServerError
from sqlalchemy import select

from common.db import db
from common.payments.models import Payment, WebhookEvent
from standins.razorpay import sign
from tests.factories import auth_headers, make_course
from tests.standins.razorpay_fixtures import *  # noqa: F401,F403


@pytest.fixture
def sdk(razorpay, test_env):
    return razorpay_sdk.Client(
        auth=(test_env["RAZORPAY_KEY_ID"], test_env["RAZORPAY_KEY_SECRET"]), base_url=razorpay.url
    )


def test_orders_payments_and_refunds_through_the_sdk(sdk, razorpay, test_env):
    order = sdk.order.create({"amount": 50000, "currency": "INR", "receipt": "rcpt_1", "notes": {"a": "b"}})
    assert {k: order[k] for k in ("entity", "amount", "amount_paid", "amount_due", "status", "receipt")} == {
        "entity": "order",
        "amount": 50000,
        "amount_paid": 0,
        "amount_due": 50000,
        "status": "created",
        "receipt": "rcpt_1",
    }
    assert sdk.order.fetch(order["id"])["id"] == order["id"]
    checkout = razorpay.state.checkout(order["id"])
    expected = sign(f"{order['id']}|{checkout['razorpay_payment_id']}", test_env["RAZORPAY_KEY_SECRET"])
    assert checkout["razorpay_signature"] == expected
    assert sdk.utility.verify_payment_signature(checkout) is True
    payments = sdk.order.payments(order["id"])
    assert payments["entity"] == "collection" and payments["count"] == 1
    payment = sdk.payment.fetch(checkout["razorpay_payment_id"])
    assert (payment["status"], payment["captured"], payment["order_id"]) == ("captured", True, order["id"])
    assert sdk.order.fetch(order["id"])["status"] == "paid"
    partial = sdk.payment.refund(payment["id"], {"amount": 10000})
    assert partial["entity"] == "refund" and partial["status"] == "processed"
    assert sdk.payment.fetch(payment["id"])["refund_status"] == "partial"
    with pytest.raises(BadRequestError, match="greater than"):
        sdk.payment.refund(payment["id"], {"amount": 90000})
    sdk.payment.refund(payment["id"], {})
    assert sdk.payment.fetch(payment["id"])["status"] == "refunded"
    with pytest.raises(BadRequestError, match="fully refunded"):
        sdk.payment.refund(payment["id"], {})


@pytest.mark.parametrize(
    "data,message",
    [
        ({"amount": 99}, "atleast"),
        ({"amount": "100"}, "integer"),
        ({"amount": 100, "currency": "XYZ"}, "currency"),
        ({"amount": 100, "receipt": "r" * 41}, "receipt"),
        ({"amount": 100, "notes": {str(i): i for i in range(16)}}, "notes"),
    ],
)
def test_order_validation_errors(sdk, data, message):
    with pytest.raises(BadRequestError, match=message):
        sdk.order.create(data)


def test_errors_have_razorpay_shapes(razorpay):
    answer = requests.get(razorpay.url + "/v1/orders/order_nope", auth=("rzp_test_suite", "wrong"), timeout=5)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "BAD_REQUEST_ERROR"
    answer = requests.get(
        razorpay.url + "/v1/payments/pay_nope", auth=("rzp_test_suite", "suite-key-secret"), timeout=5
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["description"] == "The id provided does not exist"
    assert answer.json()["error"]["field"] == "id"


def test_faults(sdk, razorpay):
    razorpay.state.set_fault("gateway_error", count=1)
    with pytest.raises(GatewayError):
        sdk.order.create({"amount": 100})
    sdk.order.create({"amount": 100})  # count=1: only the first call failed
    razorpay.state.set_fault("server_error", prefix="/v1/orders")
    with pytest.raises(ServerError):
        sdk.order.create({"amount": 100})
    razorpay.state.set_fault("html_502")
    answer = requests.get(razorpay.url + "/v1/orders/x", timeout=5)
    assert answer.status_code == 502 and answer.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        razorpay.state.set_fault("explode")


def test_controls_over_http(razorpay, live_app, client, student, instructor):
    course = make_course(instructor, price=10000)
    order_id = client.post(
        "/api/payments/order", json={"course_id": course.id}, headers=auth_headers(student)
    ).get_json()["order_id"]
    url = razorpay.url + "/_standin"
    failed = requests.post(
        url + "/checkout", json={"order_id": order_id, "outcome": "failed"}, timeout=5
    ).json()
    assert failed["error"]["metadata"]["order_id"] == order_id
    ok = requests.post(url + "/checkout", json={"order_id": order_id}, timeout=5).json()
    assert set(ok) == {"razorpay_payment_id", "razorpay_order_id", "razorpay_signature"}
    again = requests.post(url + "/checkout", json={"order_id": order_id}, timeout=5)
    assert again.status_code == 400 and "already been paid" in again.json()["error"]["description"]
    bad = requests.post(url + "/checkout", json={"order_id": order_id, "outcome": "maybe"}, timeout=5)
    assert bad.status_code == 400
    sent = requests.post(
        url + "/webhooks",
        json={
            "event": "payment.captured",
            "order_id": order_id,
            "url": live_app + "/api/payments/webhook",
            "times": 2,
        },
        timeout=10,
    ).json()
    assert sent["statuses"] == [200, 200]
    wrong = requests.post(
        url + "/webhooks",
        json={
            "event": "payment.captured",
            "order_id": order_id,
            "url": live_app + "/api/payments/webhook",
            "secret": "not-it",
        },
        timeout=10,
    ).json()
    assert wrong["statuses"] == [400]
    db.session.rollback()
    [event] = db.session.execute(select(WebhookEvent)).scalars().all()
    assert event.event_id == sent["event_id"]
    no_url = requests.post(
        url + "/webhooks", json={"event": "payment.captured", "order_id": order_id}, timeout=5
    )
    assert no_url.status_code == 400
    assert requests.post(url + "/faults", json={"mode": "nope"}, timeout=5).status_code == 400
    assert requests.post(url + "/faults", json={"mode": "html_502", "count": 1}, timeout=5).json()["fault"]
    assert requests.delete(url + "/faults", timeout=5).json() == {"fault": None}
    config = requests.post(
        url + "/config", json={"refund_mode": "pending", "webhook_url": ""}, timeout=5
    ).json()
    assert config == {"refund_mode": "pending", "webhook_url": None}
    seen = requests.get(url + "/requests", timeout=5).json()
    assert {"method": "POST", "path": "/v1/orders"} in seen
    assert requests.post(url + "/reset", timeout=5).json() == {"reset": True}
    assert razorpay.state.orders == {}


def test_auto_webhooks_after_checkout_and_refund(razorpay, live_app, client, student, instructor):
    course = make_course(instructor, price=10000)
    order_id = client.post(
        "/api/payments/order", json={"course_id": course.id}, headers=auth_headers(student)
    ).get_json()["order_id"]
    razorpay.state.webhook_url = live_app + "/api/payments/webhook"
    try:
        requests.post(razorpay.url + "/_standin/checkout", json={"order_id": order_id}, timeout=5)

        def stored(n):
            def check():
                db.session.rollback()
                return len(db.session.execute(select(WebhookEvent)).scalars().all()) >= n

            return check

        wait_for(stored(2), timeout=10)
        types = sorted(e.event_type for e in db.session.execute(select(WebhookEvent)).scalars())
        assert types == ["order.paid", "payment.captured"]
        pay = next(iter(razorpay.state.payments))
        razorpay.state.refund_mode = "pending"
        refund = razorpay.state.create_refund(pay, {})
        requests.post(razorpay.url + f"/_standin/refunds/{refund['id']}/process", timeout=5)
        wait_for(stored(3), timeout=10)
    finally:
        razorpay.state.webhook_url = None


def test_cli_checkout_completes_a_purchase(app, razorpay, client, student, instructor, eager_tasks):
    course = make_course(instructor, price=10000)
    order_id = client.post(
        "/api/payments/order", json={"course_id": course.id}, headers=auth_headers(student)
    ).get_json()["order_id"]
    runner = app.test_cli_runner()
    result = runner.invoke(args=["payments", "checkout", order_id, "--complete", "--no-webhooks"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output[: result.output.rindex("}") + 1])
    assert payload["razorpay_order_id"] == order_id
    assert "paid" in result.output
    db.session.rollback()
    assert db.session.execute(select(Payment)).scalar_one().status == "paid"
    again = runner.invoke(args=["payments", "checkout", order_id])
    assert again.exit_code != 0 and "refused" in again.output
    missing = runner.invoke(args=["payments", "checkout", "order_Unknown", "--complete"])
    assert missing.exit_code != 0
    foreign = razorpay.state.create_order({"amount": 100})  # known to Razorpay, not to us
    stray = runner.invoke(args=["payments", "checkout", foreign["id"], "--complete"])
    assert stray.exit_code != 0 and "no payment record" in stray.output
    reconcile = runner.invoke(args=["payments", "reconcile", "--older-than", "0"])
    assert reconcile.exit_code == 0 and json.loads(reconcile.output)["checked"] == 0


def test_cli_checkout_without_a_stand_in(app, razorpay):
    app.config["RAZORPAY_API_BASE"] = "http://127.0.0.1:9"
    result = app.test_cli_runner().invoke(args=["payments", "checkout", "order_x"])
    assert result.exit_code != 0 and "not reachable" in result.output


def test_embedded_default_talks_to_the_stand_in(app, razorpay):
    from common.payments import gateway

    app.config.update(
        RAZORPAY_USE_STANDIN=True,
        RAZORPAY_STANDIN_URL=razorpay.url,
        RAZORPAY_API_BASE="https://api.razorpay.com",
    )
    try:
        assert gateway.api_base() == razorpay.url
        assert gateway.create_order(amount=100, currency="INR", receipt="r", notes={})["entity"] == "order"
    finally:
        app.config["RAZORPAY_USE_STANDIN"] = False
