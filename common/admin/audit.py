"""Audit trail helper: adds an entry to the caller's unit of work (the caller commits)."""

from __future__ import annotations

from flask import has_request_context, request

from common.admin.models import AuditLog
from common.db import db


def record(
    *,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id,
    detail: dict | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditLog:
    """Add who did `action` to which object, with the object's state before and after, and the client IP.

    Added to the current session: it commits (or rolls back) with the action it records.
    """
    ip = request.remote_addr if has_request_context() else None
    entry = AuditLog(
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail,
        before=before,
        after=after,
        ip=ip,
    )
    db.session.add(entry)
    return entry
