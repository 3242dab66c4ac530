"""Payment test fixtures: the Razorpay stand-in, a paid course and its open order, the app over HTTP."""

from __future__ import annotations

import time

import pytest
from werkzeug.serving import make_server

from standins.razorpay import start_in_thread
from tests.factories import auth_headers, make_course

# The price of the paid course every payment test buys (paise).
PRICE = 49900


@pytest.fixture(scope="session")
def razorpay_server(test_env):
    server = start_in_thread(
        key_id=test_env["RAZORPAY_KEY_ID"],
        key_secret=test_env["RAZORPAY_KEY_SECRET"],
        webhook_secret=test_env["RAZORPAY_WEBHOOK_SECRET"],
    )
    yield server
    server.stop()


@pytest.fixture
def razorpay(app, razorpay_server):
    """The stand-in, reset, with the app's RAZORPAY_API_BASE pointing at it (the real SDK path runs)."""
    from web.extensions import limiter

    razorpay_server.state.reset()
    # Counters may live outside the flushed Redis (the in-memory fallback): start every payment test
    # with fresh limits.
    limiter.reset()
    keys = ("RAZORPAY_API_BASE", "RAZORPAY_TIMEOUT_SECONDS", "RATELIMIT_PAYMENTS")
    saved = {k: app.config[k] for k in keys}
    app.config.update(RAZORPAY_API_BASE=razorpay_server.url, RAZORPAY_TIMEOUT_SECONDS=5)
    yield razorpay_server
    razorpay_server.state.reset()
    app.config.update(saved)


@pytest.fixture
def course(instructor):
    """A published course at PRICE by `instructor`."""
    return make_course(instructor, price=PRICE, title="Paid Python")


@pytest.fixture
def order_id(client, razorpay, student, course):
    """The Razorpay order `student` opened for `course` (not paid yet)."""
    response = client.post(
        "/api/payments/order", json={"course_id": course.id}, headers=auth_headers(student)
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["order_id"]


@pytest.fixture
def eager_tasks(app):
    """Run tasks in-process, as the embedded default does."""
    celery = app.extensions["celery"]
    celery.conf.task_always_eager = True
    yield
    celery.conf.task_always_eager = False


@pytest.fixture(scope="session")
def live_app(app):
    """The app under test served over HTTP by a threaded server (for concurrent webhook deliveries)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    import threading

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def webhook_request(
    razorpay_server, event: str, *, event_id: str | None = None, secret: str | None = None, **ids
) -> tuple[bytes, dict]:
    state = razorpay_server.state
    return state.signed_request(state.build_event(event, **ids), event_id=event_id, secret=secret)


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1):
    """Poll until predicate() is truthy (returns it) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def task(app, name: str):
    """The task as registered on the app under test (not the shared_task proxy, which follows whichever
    Celery app was created last, e.g. by a test that builds a second app)."""
    return app.extensions["celery"].tasks[name]
