"""A thin wrapper over the official Razorpay SDK: configured client, timeouts, clean errors, signatures."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading

import razorpay
import requests
from flask import current_app
from razorpay.errors import BadRequestError
from razorpay.errors import GatewayError as SdkGatewayError
from razorpay.errors import ServerError as SdkServerError

from common.errors import BadRequest, PaymentError, ServiceUnavailable

log = logging.getLogger(__name__)
SIGNATURE_RE = re.compile(r"^[0-9a-fA-F]{64}$")


class GatewayError(PaymentError):
    """Razorpay refused or answered badly (502); `retryable` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


class GatewayUnavailable(ServiceUnavailable):
    """Razorpay could not be reached or did not answer in time (503); always worth retrying later."""

    retryable = True

    def __init__(self, message: str):
        super().__init__(message, headers={"Retry-After": "10"})


def api_base() -> str:
    cfg = current_app.config
    return cfg["RAZORPAY_STANDIN_URL"] if cfg.get("RAZORPAY_USE_STANDIN") else cfg["RAZORPAY_API_BASE"]


_local = threading.local()


def client() -> razorpay.Client:
    """One SDK client (and its pooled requests.Session) per thread and settings.

    Per thread because a requests.Session is not safe to share between threads (threaded web server,
    Celery thread pool).
    """
    cfg = current_app.config
    key = (
        id(current_app._get_current_object()),
        api_base(),
        cfg["RAZORPAY_KEY_ID"],
        cfg["RAZORPAY_KEY_SECRET"],
    )
    clients = getattr(_local, "clients", None)
    if clients is None:
        clients = _local.clients = {}
    if key not in clients:
        clients[key] = razorpay.Client(auth=(key[2], key[3]), base_url=key[1])
    return clients[key]


def _timeout() -> tuple[float, float]:
    read = float(current_app.config["RAZORPAY_TIMEOUT_SECONDS"])
    return (min(read, 5.0), read)


def _call(what: str, fn, *args):
    """Run one SDK call with our timeouts and turn every failure into GatewayError/GatewayUnavailable."""
    try:
        answer = fn(*args, timeout=_timeout())
    except BadRequestError as exc:
        log.warning("razorpay refused %s: %s", what, exc)
        raise GatewayError(f"Razorpay refused to {what}: {exc}", retryable=False) from exc
    except (SdkServerError, SdkGatewayError) as exc:
        log.warning("razorpay failed to %s: %s", what, exc)
        raise GatewayError(f"Razorpay failed to {what}; try again shortly", retryable=True) from exc
    except requests.Timeout as exc:  # before ConnectionError: ConnectTimeout is both
        log.warning("razorpay timed out on %s", what)
        raise GatewayUnavailable("Razorpay did not answer in time; try again shortly") from exc
    except requests.ConnectionError as exc:
        log.warning("razorpay unreachable on %s: %s", what, exc)
        raise GatewayUnavailable("Razorpay is unreachable; try again shortly") from exc
    except (requests.RequestException, ValueError) as exc:
        # An HTML error page from a proxy (502/503) or any other non-JSON answer lands here.
        log.warning("razorpay answered %s with something unexpected: %s", what, exc)
        raise GatewayError(
            f"Razorpay gave an unexpected answer to {what}; try again shortly", retryable=True
        ) from exc
    if not isinstance(answer, dict):  # JSON, but not an entity (a proxy's or a broken answer)
        log.warning("razorpay answered %s with %s, not an object", what, type(answer).__name__)
        raise GatewayError(f"Razorpay gave an unexpected answer to {what}; try again shortly", retryable=True)
    return answer


def create_order(*, amount: int, currency: str, receipt: str, notes: dict) -> dict:
    return _call(
        "create the order",
        client().order.create,
        {"amount": amount, "currency": currency, "receipt": receipt, "notes": notes},
    )


def order_payments(order_id: str) -> list[dict]:
    return _call("list the order's payments", client().order.payments, order_id).get("items", [])


def fetch_payment(payment_id: str) -> dict:
    return _call("fetch the payment", client().payment.fetch, payment_id)


def refund_payment(payment_id: str, *, amount: int, notes: dict) -> dict:
    return _call(
        "refund the payment",
        client().payment.refund,
        payment_id,
        {"amount": amount, "speed": "normal", "notes": notes},
    )


# --- signatures -----------------------------------------------------------------------------------
# Our own HMAC rather than the SDK's razorpay.Utility: its verify_signature takes a str and runs
# bytes(body, "utf-8") on it, so a webhook would be checked over a decoded and re-encoded body, not
# the raw bytes Razorpay signed (a body that is not valid UTF-8 cannot even be passed); it also
# raises on a mismatch and checks no format. A dozen lines of hmac from the standard library instead.
def hmac_hex(message: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_matches(message: bytes, signature, secret: str) -> bool:
    """Constant-time check of a hex HMAC-SHA256; a malformed signature is a BadRequest (400)."""
    if not isinstance(signature, str) or not SIGNATURE_RE.match(signature):
        raise BadRequest("Malformed signature: expected 64 hexadecimal characters")
    return hmac.compare_digest(hmac_hex(message, secret).encode(), signature.lower().encode())


def checkout_signature_ok(*, order_id: str, payment_id: str, signature) -> bool:
    """Razorpay Checkout's signature: HMAC-SHA256(order_id + "|" + payment_id, key_secret)."""
    message = f"{order_id}|{payment_id}".encode()
    return signature_matches(message, signature, current_app.config["RAZORPAY_KEY_SECRET"])


def webhook_signature_ok(body: bytes, signature) -> bool:
    """Razorpay webhooks: HMAC-SHA256 of the raw body bytes with the webhook secret."""
    if signature is None or signature == "":
        raise BadRequest("Missing X-Razorpay-Signature header")
    return signature_matches(body, signature, current_app.config["RAZORPAY_WEBHOOK_SECRET"])
