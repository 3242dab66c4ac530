"""A local Razorpay stand-in: the slice of the REST API we use, plus controls that play Checkout and webhooks.

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

Why our own: development and CI machines cannot reach api.razorpay.com, Razorpay publishes no local
emulator, and a mock of the SDK would skip the code that matters (HTTP, basic auth, timeouts, error
bodies, signatures). Served over HTTP, it lets the real `razorpay` SDK run unchanged against it.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os

from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

from standins.razorpay_state import HTML_502, ApiError, State, new_id, sign  # noqa: F401  (re-exported)
from standins.server import BackgroundServer

log = logging.getLogger("standins.razorpay")


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
                return Response(
                    "<html><body>503 Service Unavailable</body></html>", 503, mimetype="text/html"
                )
            elif fault["mode"] == "gateway_error":
                raise ApiError("The gateway is not responding", status=502, code="GATEWAY_ERROR")
            elif fault["mode"] == "garbage":  # a 200 whose body is not JSON
                return Response("\x00<<not json>>", status=200, mimetype="application/json")
            elif fault["mode"] == "wrong_json":  # a 200 with JSON of the wrong shape
                return Response("[1, 2, 3]", status=200, mimetype="application/json")
            elif fault["mode"] == "server_error":
                raise ApiError("The server encountered an error", status=500, code="SERVER_ERROR")
        auth = request.authorization
        if auth is None or not (
            hmac.compare_digest(auth.username or "", state.key_id)
            and hmac.compare_digest(auth.password or "", state.key_secret)
        ):
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
        result = state.checkout(
            str(data.get("order_id", "")),
            outcome=outcome,
            amount=data.get("amount"),
            currency=data.get("currency"),
        )
        if data.get("webhooks", True) and outcome == "captured":
            pid = result["razorpay_payment_id"]
            state.deliver_later(
                [
                    state.build_event("payment.captured", payment_id=pid),
                    state.build_event("order.paid", payment_id=pid),
                ]
            )
        elif data.get("webhooks", True) and outcome == "failed":
            pid = result["error"]["metadata"]["payment_id"]
            state.deliver_later([state.build_event("payment.failed", payment_id=pid)])
        return jsonify(result)

    @app.post("/_standin/webhooks")
    def send_webhooks():
        data = body()
        event = state.build_event(
            str(data.get("event", "")),
            order_id=data.get("order_id"),
            payment_id=data.get("payment_id"),
            refund_id=data.get("refund_id"),
        )
        return jsonify(
            state.deliver(
                event,
                url=data.get("url"),
                times=int(data.get("times", 1)),
                concurrency=int(data.get("concurrency", 1)),
                event_id=data.get("event_id"),
                secret=data.get("secret"),
            )
        )

    @app.post("/_standin/refunds/<refund_id>/process")
    def process_refund(refund_id):
        refund = state.process_refund(refund_id)
        state.deliver_later([state.build_event("refund.processed", refund_id=refund_id)])
        return jsonify(refund)

    @app.post("/_standin/faults")
    def set_fault():
        data = body()
        try:
            state.set_fault(
                str(data.get("mode", "ok")),
                delay=float(data.get("delay", 0)),
                prefix=str(data.get("prefix", "/v1/")),
                count=data.get("count"),
            )
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


class StandInServer(BackgroundServer):
    """The stand-in served by a threaded werkzeug server in a background thread; `state` is its memory."""

    def __init__(self, state: State, host: str = "127.0.0.1", port: int = 0):
        super().__init__(create_app(state), host, port)
        self.state = state

    def start(self) -> StandInServer:
        return self.__enter__()

    def stop(self) -> None:
        self.state.clear_fault()  # wakes handlers stalled by a "slow" fault
        self.__exit__(None, None, None)


def start_in_thread(
    *,
    key_id: str,
    key_secret: str,
    webhook_secret: str,
    webhook_url: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> StandInServer:
    state = State(
        key_id=key_id, key_secret=key_secret, webhook_secret=webhook_secret, webhook_url=webhook_url
    )
    return StandInServer(state, host, port).start()


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - a command-line entry point
    from common.config import load_config

    settings = load_config()
    parser = argparse.ArgumentParser(description="Local Razorpay stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5010)
    parser.add_argument(
        "--webhook-url",
        default=None,
        help="where to send webhooks after Checkout and refunds "
        "(default $RAZORPAY_STANDIN_WEBHOOK_URL or the local app's /api/payments/webhook)",
    )
    args = parser.parse_args(argv)
    # Not $PORT: under honcho every process gets its own PORT; the web process gets 5000.
    webhook_url = (
        args.webhook_url
        or os.environ.get("RAZORPAY_STANDIN_WEBHOOK_URL")
        or "http://127.0.0.1:5000/api/payments/webhook"
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    state = State(
        key_id=settings["RAZORPAY_KEY_ID"],
        key_secret=settings["RAZORPAY_KEY_SECRET"],
        webhook_secret=settings["RAZORPAY_WEBHOOK_SECRET"],
        webhook_url=webhook_url,
    )
    server = make_server(args.host, args.port, create_app(state), threaded=True)
    log.info(
        "Razorpay stand-in on http://%s:%s (key id %s), webhooks to %s",
        args.host,
        args.port,
        state.key_id,
        webhook_url,
    )
    server.serve_forever()


if __name__ == "__main__":  # pragma: no cover
    main()
