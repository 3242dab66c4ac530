"""The Razorpay stand-in's memory: orders, payments, refunds, faults and signed webhook events."""

from __future__ import annotations

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

log = logging.getLogger("standins.razorpay")
ALPHABET = string.ascii_letters + string.digits
CURRENCIES = {"INR", "USD", "EUR", "GBP", "SGD", "AED", "MYR"}
FAULT_MODES = {
    "ok",
    "slow",
    "html_502",
    "unavailable",
    "server_error",
    "gateway_error",
    "garbage",
    "wrong_json",
}
HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"


def new_id(prefix: str) -> str:
    return prefix + "_" + "".join(secrets.choice(ALPHABET) for _ in range(14))


def sign(message: bytes | str, secret: str) -> str:
    """HMAC-SHA256 hex digest, as Razorpay signs Checkout results and webhook bodies."""
    if isinstance(message, str):
        message = message.encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class ApiError(Exception):
    def __init__(
        self, description: str, status: int = 400, code: str = "BAD_REQUEST_ERROR", field: str | None = None
    ):
        super().__init__(description)
        self.status, self.code, self.description, self.field = status, code, description, field

    def body(self) -> dict:
        error = {
            "code": self.code,
            "description": self.description,
            "source": "NA",
            "step": "NA",
            "reason": "input_validation_failed" if self.code == "BAD_REQUEST_ERROR" else "NA",
            "metadata": {},
        }
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

    def set_fault(
        self, mode: str, *, delay: float = 0.0, prefix: str = "/v1/", count: int | None = None
    ) -> None:
        """Make API calls under `prefix` fail or stall (`count` times, or until cleared)."""
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}")
        with self.lock:
            self.release.clear()
            self.fault = (
                None if mode == "ok" else {"mode": mode, "delay": delay, "prefix": prefix, "count": count}
            )

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
        order = {
            "id": new_id("order"),
            "entity": "order",
            "amount": amount,
            "amount_paid": 0,
            "amount_due": amount,
            "currency": currency,
            "receipt": receipt,
            "offer_id": None,
            "status": "created",
            "attempts": 0,
            "notes": notes,
            "created_at": int(time.time()),
        }
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

    def checkout(
        self,
        order_id: str,
        *,
        outcome: str = "captured",
        amount: int | None = None,
        currency: str | None = None,
    ) -> dict:
        """Play Razorpay Checkout: a payment attempt on the order and what the browser handler receives."""
        if outcome not in {"captured", "failed", "authorized"}:
            raise ApiError("outcome must be captured, failed or authorized", field="outcome")
        with self.lock:
            order = self.order(order_id)
            if order["status"] == "paid":
                raise ApiError("Order has already been paid", field="order_id")
            now = int(time.time())
            payment = {
                "id": new_id("pay"),
                "entity": "payment",
                "amount": amount if amount is not None else order["amount"],
                "currency": currency or order["currency"],
                "status": outcome,
                "order_id": order_id,
                "invoice_id": None,
                "international": False,
                "method": "upi",
                "amount_refunded": 0,
                "refund_status": None,
                "captured": outcome == "captured",
                "description": None,
                "card_id": None,
                "bank": None,
                "wallet": None,
                "vpa": "success@razorpay",
                "email": "buyer@example.com",
                "contact": "+919000090000",
                "notes": order["notes"],
                "fee": None,
                "tax": None,
                "error_code": None,
                "error_description": None,
                "error_source": None,
                "error_step": None,
                "error_reason": None,
                "acquirer_data": {"rrn": str(now)},
                "created_at": now,
            }
            if outcome == "failed":
                payment["vpa"] = "failure@razorpay"
                payment.update(
                    error_code="BAD_REQUEST_ERROR",
                    error_description="Payment was declined by the bank",
                    error_source="bank",
                    error_step="payment_authorization",
                    error_reason="payment_failed",
                )
            else:
                payment.update(fee=round(payment["amount"] * 0.02), tax=round(payment["amount"] * 0.0036))
            order["attempts"] += 1
            order["status"] = "attempted"
            if outcome == "captured":
                order.update(status="paid", amount_paid=payment["amount"], amount_due=0)
            self.payments[payment["id"]] = payment
        if outcome == "failed":
            return {
                "error": {
                    "code": payment["error_code"],
                    "description": payment["error_description"],
                    "source": "bank",
                    "step": "payment_authorization",
                    "reason": "payment_failed",
                    "metadata": {"order_id": order_id, "payment_id": payment["id"]},
                }
            }
        return {
            "razorpay_payment_id": payment["id"],
            "razorpay_order_id": order_id,
            "razorpay_signature": sign(f"{order_id}|{payment['id']}", self.key_secret),
        }

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
            refund = {
                "id": new_id("rfnd"),
                "entity": "refund",
                "amount": amount,
                "currency": payment["currency"],
                "payment_id": payment_id,
                "notes": data.get("notes") or [],
                "receipt": data.get("receipt"),
                "acquirer_data": {"arn": None},
                "created_at": int(time.time()),
                "batch_id": None,
                "status": self.refund_mode,
                "speed_processed": "normal",
                "speed_requested": data.get("speed", "normal"),
            }
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
    def build_event(
        self,
        event: str,
        *,
        order_id: str | None = None,
        payment_id: str | None = None,
        refund_id: str | None = None,
    ) -> dict:
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
        return {
            "entity": "event",
            "account_id": "acc_StandIn0000001",
            "event": event,
            "contains": list(payload),
            "payload": payload,
            "created_at": int(time.time()),
        }

    def signed_request(
        self, event: dict, *, event_id: str | None = None, secret: str | None = None
    ) -> tuple[bytes, dict]:
        """The exact body bytes and headers Razorpay would POST for `event`."""
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Razorpay-Webhook/v1",
            "X-Razorpay-Signature": sign(body, secret or self.webhook_secret),
            "x-razorpay-event-id": event_id or new_id("evt"),
        }
        return body, headers

    def deliver(
        self,
        event: dict,
        *,
        url: str | None = None,
        times: int = 1,
        concurrency: int = 1,
        event_id: str | None = None,
        secret: str | None = None,
        timeout: float = 10,
    ) -> dict:
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
