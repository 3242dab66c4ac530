"""Audit trail helper: adds an entry to the caller's unit of work (the caller commits)."""
from __future__ import annotations

from flask import has_request_context, request

from common.admin.models import AuditLog
from common.db import db


def record(*, actor_id: int | None, action: str, object_type: str, object_id, detail: dict | None = None) -> None:
    ip = request.remote_addr if has_request_context() else None
    db.session.add(AuditLog(
        actor_id=actor_id, action=action, object_type=object_type,
        object_id=str(object_id), detail=detail, ip=ip,
    ))
