"""Certificates stuck in `pending` (a lost render message) are re-queued by the beat sweep."""

from __future__ import annotations

import time
from datetime import timedelta

from common.certificates import service
from common.certificates.models import Certificate
from common.db import db, utcnow
from tests.factories import make_certificate, make_course, make_user


def test_sweep_requeues_only_old_pending_certificates(app, celery_worker):
    instructor = make_user("instructor")
    old = make_certificate(make_user(), make_course(instructor))
    fresh = make_certificate(make_user(), make_course(instructor))
    old.issue_date = utcnow() - timedelta(hours=1)
    db.session.commit()
    old_id, fresh_id = old.id, fresh.id

    assert app.extensions["celery"].tasks["certificates.sweep"].apply().get() == 1

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        db.session.rollback()
        if db.session.get(Certificate, old_id).status == "ready":
            break
        time.sleep(0.2)
    assert db.session.get(Certificate, old_id).status == "ready"
    assert db.session.get(Certificate, fresh_id).status == "pending"
    assert service.requeue_stuck(older_than_seconds=3600) == 0
