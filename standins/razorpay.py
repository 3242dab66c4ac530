"""A local Razorpay stand-in: the slice of the REST API we use, plus controls that play Checkout and send webhooks.

Razorpay's API (HTTP basic auth key_id:key_secret, Razorpay's JSON shapes and error bodies):
  POST /v1/orders, GET /v1/orders/<id>, GET /v1/orders/<id>/payments, GET /v1/payments/<id>,
  POST /v1/payments/<id>/refund
Controls (not Razorpay's; no auth, bind to loopback only):
  POST /_standin/checkout {order_id, outcome: captured|failed|authorized, amount?, currency?, webhooks?}
  POST /_standin/webhooks {event, order_id|payment_id|refund_id, url?, times?, concurrency?, secret?}
  POST /_standin/refunds/<id>/process   POST /_standin/faults {mode, delay?, prefix?, count?}
  DELETE /_standin/faults   POST /_standin/config {refund_mode?, webhook_url?}   POST /_standin/reset
  GET /_standin/requests

Run it with `python -m standins.razorpay --port 5010`, or `start_in_thread(...)` from tests.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import secrets
import string
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

log = logging.getLogger("standins.razorpay")
ALPHABET = string.ascii_letters + string.digits
CURRENCIES = {"INR", "USD", "EUR", "GBP", "SGD", "AED", "MYR"}
FAULT_MODES = {"ok", "slow", "html_502", "unavailable", "server_error", "gateway_error"}
HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"


def new_id(prefix: str) -> str:
    return prefix + "_" + "".join(secrets.choice(ALPHABET) for _ in range(14))


def sign(message: bytes | str, secret: str) -> str:
    """HMAC-SHA256 hex digest, as Razorpay signs Checkout results and webhook bodies."""
    if isinstance(message, str):
        message = message.encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class ApiError(Exception):
    def __init__(self, description: str, status: int = 400, code: str = "BAD_REQUEST_ERROR",
                 field: str | None = None):
        super().__init__(description)
        self.status, self.code, self.description, self.field = status, code, description, field

    def body(self) -> dict:
        error = {"code": self.code, "description": self.description, "source": "NA", "step": "NA",
                 "reason": "input_validation_failed" if self.code == "BAD_REQUEST_ERROR" else "NA",
                 "metadata": {}}
        if self.field:
            error["field"] = self.field
        return {"error": error}


class State:
    """Everything the stand-in knows; shared by the HTTP handlers and by tests in the same process."""

    def __init__(self, *, key_id: str, key_secret: str, webhook_secret: str, webhook_url: str | None = None):
        self.key_id, self.key_secret, self.webhook_secret = key_id, key_secret, webhook_secret
        self.webhook_url = webhook_url
        self.lock = threading.RLock()
        self.release = threading.Event()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.orders: dict[str, dict] = {}
            self.payments: dict[str, dict] = {}
            self.refunds: dict[str, dict] = {}
            self.requests: list[tuple[str, str]] = []
            self.refund_mode = "processed"
            self.clear_fault()

    def set_fault(self, mode: str, *, delay: float = 0.0, prefix: str = "/v1/", count: int | None = None) -> None:
        """Make API calls under `prefix` fail or stall (`count` times, or until cleared)."""
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}")
        with self.lock:
            self.release.clear()
            self.fault = None if mode == "ok" else {"mode": mode, "delay": delay, "prefix": prefix, "count": count}

    def clear_fault(self) -> None:
        with self.lock:
            self.fault = None
            self.release.set()  # wakes handlers stalled by a "slow" fault

    def take_fault(self, path: str) -> dict | None:
        with self.lock:
            fault = self.fault
            if fault is None or not path.startswith(fault["prefix"]):
                return None
            if fault["count"] is not None:
                fault["count"] -= 1
                if fault["count"] <= 0:
                    self.fault = None
            return dict(fault)

    def seen(self, method: str, prefix: str) -> int:
        with self.lock:
            return sum(1 for m, p in self.requests if m == method and p.startswith(prefix))

    # --- Razorpay entities -------------------------------------------------------------------
    def create_order(self, data: dict) -> dict:
        amount, currency = data.get("amount"), data.get("currency", "INR")
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise ApiError("The amount must be an integer.", field="amount")
        if amount < 100:
            raise ApiError("The amount must be atleast INR 1.00", field="amount")
        if currency not in CURRENCIES:
            raise ApiError("The currency is invalid.", field="currency")
        receipt = data.get("receipt")
        if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
            raise ApiError("The receipt may not be greater than 40 characters.", field="receipt")
        notes = data.get("notes") or []
        if notes and (not isinstance(notes, dict) or len(notes) > 15):
            raise ApiError("The notes must be a key-value map of at most 15 pairs.", field="notes")
        order = {"id": new_id("order"), "entity": "order", "amount": amount, "amount_paid": 0, "amount_due": amount,
                 "currency": currency, "receipt": receipt, "offer_id": None, "status": "created", "attempts": 0,
                 "notes": notes, "created_at": int(time.time())}
        with self.lock:
            self.orders[order["id"]] = order
        return order

    def order(self, order_id: str) -> dict:
        with self.lock:
            if order_id not in self.orders:
                raise ApiError("The id provided does not exist", field="id")
            return self.orders[order_id]

    def payment(self, payment_id: str) -> dict:
        with self.lock:
            if payment_id not in self.payments:
                raise ApiError("The id provided does not exist", field="id")
            return self.payments[payment_id]

    def refund(self, refund_id: str) -> dict:
        with self.lock:
            if refund_id not in self.refunds:
                raise ApiError("The id provided does not exist", field="id")
            return self.refunds[refund_id]

    def order_payments(self, order_id: str) -> dict:
        self.order(order_id)
        with self.lock:
            items = [p for p in self.payments.values() if p["order_id"] == order_id]
        items.sort(key=lambda p: p["created_at"], reverse=True)
        return {"entity": "collection", "count": len(items), "items": items}

    def checkout(self, order_id: str, *, outcome: str = "captured", amount: int | None = None,
                 currency: str | None = None) -> dict:
        """Play Razorpay Checkout: a payment attempt on the order and what the browser handler receives."""
        if outcome not in {"captured", "failed", "authorized"}:
            raise ApiError("outcome must be captured, failed or authorized", field="outcome")
        with self.lock:
            order = self.order(order_id)
            if order["status"] == "paid":
                raise ApiError("Order has already been paid", field="order_id")
            now = int(time.time())
            payment = {
                "id": new_id("pay"), "entity": "payment", "amount": amount if amount is not None else order["amount"],
                "currency": currency or order["currency"], "status": outcome, "order_id": order_id,
                "invoice_id": None, "international": False, "method": "upi", "amount_refunded": 0,
                "refund_status": None, "captured": outcome == "captured", "description": None, "card_id": None,
                "bank": None, "wallet": None, "vpa": "success@razorpay", "email": "buyer@example.com",
                "contact": "+919000090000", "notes": order["notes"], "fee": None, "tax": None,
                "error_code": None, "error_description": None, "error_source": None, "error_step": None,
                "error_reason": None, "acquirer_data": {"rrn": str(now)}, "created_at": now,
            }
            if outcome == "failed":
                payment["vpa"] = "failure@razorpay"
                payment.update(error_code="BAD_REQUEST_ERROR", error_description="Payment was declined by the bank",
                               error_source="bank", error_step="payment_authorization", error_reason="payment_failed")
            else:
                payment.update(fee=round(payment["amount"] * 0.02), tax=round(payment["amount"] * 0.0036))
            order["attempts"] += 1
            order["status"] = "attempted"
            if outcome == "captured":
                order.update(status="paid", amount_paid=payment["amount"], amount_due=0)
            self.payments[payment["id"]] = payment
        if outcome == "failed":
            return {"error": {"code": payment["error_code"], "description": payment["error_description"],
                              "source": "bank", "step": "payment_authorization", "reason": "payment_failed",
                              "metadata": {"order_id": order_id, "payment_id": payment["id"]}}}
        return {"razorpay_payment_id": payment["id"], "razorpay_order_id": order_id,
                "razorpay_signature": sign(f"{order_id}|{payment['id']}", self.key_secret)}

    def create_refund(self, payment_id: str, data: dict) -> dict:
        with self.lock:
            payment = self.payment(payment_id)
            if payment["status"] not in ("captured", "refunded"):
                raise ApiError("The payment has not been captured", field="payment_id")
            left = payment["amount"] - payment["amount_refunded"]
            if left <= 0:
                raise ApiError("The payment has been fully refunded already")
            amount = data.get("amount", left)
            if not isinstance(amount, int) or amount <= 0 or amount > left:
                raise ApiError("The refund amount provided is greater than amount captured", field="amount")
            refund = {"id": new_id("rfnd"), "entity": "refund", "amount": amount, "currency": payment["currency"],
                      "payment_id": payment_id, "notes": data.get("notes") or [], "receipt": data.get("receipt"),
                      "acquirer_data": {"arn": None}, "created_at": int(time.time()), "batch_id": None,
                      "status": self.refund_mode, "speed_processed": "normal",
                      "speed_requested": data.get("speed", "normal")}
            self.refunds[refund["id"]] = refund
            payment["amount_refunded"] += amount
            full = payment["amount_refunded"] >= payment["amount"]
            payment["refund_status"] = "full" if full else "partial"
            if full:
                payment["status"] = "refunded"
            return refund

    def process_refund(self, refund_id: str) -> dict:
        with self.lock:
            refund = self.refund(refund_id)
            refund["status"] = "processed"
            return refund

    # --- webhooks ----------------------------------------------------------------------------
    def build_event(self, event: str, *, order_id: str | None = None, payment_id: str | None = None,
                    refund_id: str | None = None) -> dict:
        """A Razorpay webhook event envelope carrying snapshots of the entities involved."""
        with self.lock:
            payload = {}
            if refund_id:
                refund = self.refund(refund_id)
                payload["refund"] = {"entity": dict(refund)}
                payment_id = refund["payment_id"]
            if payment_id is None and order_id:
                payments = self.order_payments(order_id)["items"]
                wanted = "failed" if event == "payment.failed" else "captured"
                matching = [p for p in payments if p["status"] == wanted] or payments
                if not matching:
                    raise ApiError("The order has no payments", field="order_id")
                payment_id = matching[0]["id"]
            if payment_id is None:
                raise ApiError("Give an order_id, payment_id or refund_id", field="payment_id")
            payment = self.payment(payment_id)
            payload["payment"] = {"entity": dict(payment)}
            if event.startswith("order."):
                payload["order"] = {"entity": dict(self.order(payment["order_id"]))}
        return {"entity": "event", "account_id": "acc_StandIn0000001", "event": event,
                "contains": list(payload), "payload": payload, "created_at": int(time.time())}

    def signed_request(self, event: dict, *, event_id: str | None = None,
                       secret: str | None = None) -> tuple[bytes, dict]:
        """The exact body bytes and headers Razorpay would POST for `event`."""
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "Razorpay-Webhook/v1",
                   "X-Razorpay-Signature": sign(body, secret or self.webhook_secret),
                   "x-razorpay-event-id": event_id or new_id("evt")}
        return body, headers

    def deliver(self, event: dict, *, url: str | None = None, times: int = 1, concurrency: int = 1,
                event_id: str | None = None, secret: str | None = None, timeout: float = 10) -> dict:
        """POST the signed event to `url` `times` times (the same event id each time, as Razorpay retries)."""
        url = url or self.webhook_url
        if not url:
            raise ApiError("No webhook url given or configured", field="url")
        body, headers = self.signed_request(event, event_id=event_id, secret=secret)

        def post(_):
            try:
                return requests.post(url, data=body, headers=headers, timeout=timeout).status_code
            except requests.RequestException as exc:
                log.warning("webhook delivery to %s failed: %s", url, exc)
                return None

        with ThreadPoolExecutor(max_workers=max(1, min(concurrency, times))) as pool:
            statuses = list(pool.map(post, range(times)))
        return {"event_id": headers["x-razorpay-event-id"], "statuses": statuses}

    def deliver_later(self, events: list[dict]) -> None:
        """Send events to the configured webhook url in the background, as Razorpay does after a capture."""
        if not self.webhook_url:
            return
        threading.Thread(target=lambda: [self.deliver(e) for e in events], daemon=True).start()


def create_app(state: State) -> Flask:
    app = Flask("standins.razorpay")
    app.extensions["razorpay_state"] = state

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):
        return jsonify(error.body()), error.status

    @app.before_request
    def _guard():
        if not request.path.startswith("/v1/"):
            return None
        with state.lock:
            state.requests.append((request.method, request.path))
        fault = state.take_fault(request.path)
        if fault:
            if fault["mode"] == "slow":
                state.release.wait(fault["delay"])
            elif fault["mode"] == "html_502":
                return Response(HTML_502, status=502, mimetype="text/html")
            elif fault["mode"] == "unavailable":
                return Response("<html><body>503 Service Unavailable</body></html>", 503, mimetype="text/html")
            elif fault["mode"] == "gateway_error":
                raise ApiError("The gateway is not responding", status=502, code="GATEWAY_ERROR")
            elif fault["mode"] == "server_error":
                raise ApiError("The server encountered an error", status=500, code="SERVER_ERROR")
        auth = request.authorization
        if auth is None or not (hmac.compare_digest(auth.username or "", state.key_id)
                                and hmac.compare_digest(auth.password or "", state.key_secret)):
            raise ApiError("Authentication failed", status=401)
        return None

    def body() -> dict:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}

    @app.post("/v1/orders")
    def create_order():
        return jsonify(state.create_order(body()))

    @app.get("/v1/orders/<order_id>")
    def fetch_order(order_id):
        return jsonify(state.order(order_id))

    @app.get("/v1/orders/<order_id>/payments")
    def order_payments(order_id):
        return jsonify(state.order_payments(order_id))

    @app.get("/v1/payments/<payment_id>")
    def fetch_payment(payment_id):
        return jsonify(state.payment(payment_id))

    @app.post("/v1/payments/<payment_id>/refund")
    def refund_payment(payment_id):
        refund = state.create_refund(payment_id, body())
        if refund["status"] == "processed":
            state.deliver_later([state.build_event("refund.processed", refund_id=refund["id"])])
        return jsonify(refund)

    # --- controls --------------------------------------------------------------------------
    @app.post("/_standin/checkout")
    def checkout():
        data = body()
        outcome = data.get("outcome", "captured")
        result = state.checkout(str(data.get("order_id", "")), outcome=outcome, amount=data.get("amount"),
                                currency=data.get("currency"))
        if data.get("webhooks", True) and outcome == "captured":
            pid = result["razorpay_payment_id"]
            state.deliver_later([state.build_event("payment.captured", payment_id=pid),
                                 state.build_event("order.paid", payment_id=pid)])
        elif data.get("webhooks", True) and outcome == "failed":
            pid = result["error"]["metadata"]["payment_id"]
            state.deliver_later([state.build_event("payment.failed", payment_id=pid)])
        return jsonify(result)

    @app.post("/_standin/webhooks")
    def send_webhooks():
        data = body()
        event = state.build_event(str(data.get("event", "")), order_id=data.get("order_id"),
                                  payment_id=data.get("payment_id"), refund_id=data.get("refund_id"))
        return jsonify(state.deliver(event, url=data.get("url"), times=int(data.get("times", 1)),
                                     concurrency=int(data.get("concurrency", 1)), event_id=data.get("event_id"),
                                     secret=data.get("secret")))

    @app.post("/_standin/refunds/<refund_id>/process")
    def process_refund(refund_id):
        refund = state.process_refund(refund_id)
        state.deliver_later([state.build_event("refund.processed", refund_id=refund_id)])
        return jsonify(refund)

    @app.post("/_standin/faults")
    def set_fault():
        data = body()
        try:
            state.set_fault(str(data.get("mode", "ok")), delay=float(data.get("delay", 0)),
                            prefix=str(data.get("prefix", "/v1/")), count=data.get("count"))
        except ValueError as exc:
            raise ApiError(str(exc), field="mode") from exc
        return jsonify({"fault": state.fault})

    @app.delete("/_standin/faults")
    def clear_fault():
        state.clear_fault()
        return jsonify({"fault": None})

    @app.post("/_standin/config")
    def configure():
        data = body()
        with state.lock:
            if data.get("refund_mode") in ("processed", "pending"):
                state.refund_mode = data["refund_mode"]
            if "webhook_url" in data:
                state.webhook_url = data["webhook_url"] or None
        return jsonify({"refund_mode": state.refund_mode, "webhook_url": state.webhook_url})

    @app.post("/_standin/reset")
    def reset():
        state.reset()
        return jsonify({"reset": True})

    @app.get("/_standin/requests")
    def requests_seen():
        with state.lock:
            return jsonify([{"method": m, "path": p} for m, p in state.requests])

    return app


class StandInServer:
    """The stand-in served by a threaded werkzeug server in a background thread."""

    def __init__(self, state: State, host: str = "127.0.0.1", port: int = 0):
        self.state = state
        self.server = make_server(host, port, create_app(state), threaded=True)
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="razorpay-standin", daemon=True)

    def start(self) -> "StandInServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.state.clear_fault()
        self.server.shutdown()
        self.thread.join(timeout=5)


def start_in_thread(*, key_id: str, key_secret: str, webhook_secret: str, webhook_url: str | None = None,
                    host: str = "127.0.0.1", port: int = 0) -> StandInServer:
    state = State(key_id=key_id, key_secret=key_secret, webhook_secret=webhook_secret, webhook_url=webhook_url)
    return StandInServer(state, host, port).start()


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - a command-line entry point
    from common.config import load_config

    settings = load_config()
    parser = argparse.ArgumentParser(description="Local Razorpay stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5010)
    parser.add_argument("--webhook-url", default=None,
                        help="where to send webhooks after Checkout and refunds "
                             "(default $RAZORPAY_STANDIN_WEBHOOK_URL or the local app's /api/payments/webhook)")
    args = parser.parse_args(argv)
    import os

    webhook_url = (args.webhook_url or os.environ.get("RAZORPAY_STANDIN_WEBHOOK_URL")
                   or f"http://127.0.0.1:{os.environ.get('PORT', '5000')}/api/payments/webhook")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    state = State(key_id=settings["RAZORPAY_KEY_ID"], key_secret=settings["RAZORPAY_KEY_SECRET"],
                  webhook_secret=settings["RAZORPAY_WEBHOOK_SECRET"], webhook_url=webhook_url)
    server = make_server(args.host, args.port, create_app(state), threaded=True)
    log.info("Razorpay stand-in on http://%s:%s (key id %s), webhooks to %s",
             args.host, args.port, state.key_id, webhook_url)
    server.serve_forever()


if __name__ == "__main__":  # pragma: no cover
    main()
