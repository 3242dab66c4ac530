"""Liveness and readiness probes."""

from __future__ import annotations

import logging

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import text

from common.cache import cache
from common.db import db
from web.extensions import limiter

blp = Blueprint("health", __name__, url_prefix="/api/health", description="Liveness and readiness")
log = logging.getLogger(__name__)
CHECK_STATES = ("ok", "unavailable")
LIVE_BODY = b'{"status":"ok"}\n'


class LiveSchema(ma.Schema):
    status = ma.fields.String(metadata={"enum": ["ok"]})


class ReadySchema(ma.Schema):
    status = ma.fields.String(metadata={"enum": ["ok", "unavailable"]})
    checks = ma.fields.Dict(
        keys=ma.fields.String(metadata={"enum": ["database", "cache", "broker"]}),
        values=ma.fields.String(metadata={"enum": list(CHECK_STATES)}),
        metadata={"description": "Each dependency: ok or unavailable (details go to the log)"},
    )
    embedded = ma.fields.Boolean(metadata={"description": "Tasks run in-process (no broker)"})


def _check(name: str, fn) -> str:
    """ "ok" or "unavailable": which dependency is down, never why (the reason goes to the log)."""
    try:
        fn()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        log.warning("readiness: %s unavailable: %r", name, exc)
        return "unavailable"


def _broker() -> None:
    celery = current_app.extensions["celery"]
    if celery.conf.task_always_eager:
        return
    with celery.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


@blp.route("")
@limiter.exempt
@blp.response(200, LiveSchema)
def live():
    """Liveness: the process answers."""
    # The floor every route pays (bench/): the body LiveSchema would give, built once.
    return current_app.response_class(LIVE_BODY, mimetype="application/json")


@blp.route("/ready")
@limiter.exempt
@blp.response(200, ReadySchema)
@blp.alt_response(503, schema=ReadySchema, description="A dependency is unavailable (named in `checks`)")
def ready():
    """Readiness: the database, the cache (Redis) and the task broker answer."""
    checks = {
        "database": _check("database", lambda: db.session.execute(text("SELECT 1"))),
        "cache": _check("cache", cache.ping),
        "broker": _check("broker", _broker),
    }
    ok = all(v == "ok" for v in checks.values())
    body = {
        "status": "ok" if ok else "unavailable",
        "checks": checks,
        "embedded": current_app.extensions["celery"].conf.task_always_eager,
    }
    return body, 200 if ok else 503
