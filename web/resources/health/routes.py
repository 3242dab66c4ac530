"""Liveness and readiness probes."""
from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import text

from common.cache import cache
from common.db import db
from web.extensions import limiter

blp = Blueprint("health", __name__, url_prefix="/api/health", description="Liveness and readiness")


def _check(fn) -> str:
    try:
        fn()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return f"error: {type(exc).__name__}"


def _broker() -> None:
    celery = current_app.extensions["celery"]
    if celery.conf.task_always_eager:
        return
    with celery.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


@blp.route("")
@limiter.exempt
def live():
    """Liveness: the process answers."""
    return {"status": "ok"}


@blp.route("/ready")
@limiter.exempt
def ready():
    """Readiness: the database, the cache (Redis) and the task broker answer."""
    checks = {
        "database": _check(lambda: db.session.execute(text("SELECT 1"))),
        "cache": _check(cache.ping),
        "broker": _check(_broker),
    }
    ok = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if ok else "unavailable", "checks": checks,
            "embedded": current_app.extensions["celery"].conf.task_always_eager}
    return body, 200 if ok else 503
