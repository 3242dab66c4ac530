"""A certificates worker SIGKILLed mid-render: the task comes back (acks_late), one certificate is ready."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from common.certificates.models import Certificate
from common.certificates.renderer import find_chromium
from common.db import db
from common.jobs.models import Job
from common.jobs.service import create_job
from common.storage import get_storage
from tests.factories import make_certificate, make_course
from tests.standins.razorpay_fixtures import task, wait_for
from tests.worker import killable

pytestmark = pytest.mark.slow
kill = killable.kill
VISIBILITY_TIMEOUT = killable.VISIBILITY_TIMEOUT
# A queue of its own, so the in-process test worker (celery_worker fixture) never takes the task.
QUEUE = "certificates-kill-test"


def start_worker(name: str, log_path: Path, chromium: str) -> subprocess.Popen:
    return killable.start_worker(
        name, QUEUE, log_path, CHROMIUM_PATH=chromium, CERT_RENDER_TIMEOUT_SECONDS="60"
    )


def test_worker_killed_mid_render(app, student, instructor, tmp_path):
    course = make_course(instructor)
    certificate = make_certificate(student, course)
    job, _ = create_job(
        kind="certificate_render", owner_id=student.id, params={"certificate_id": certificate.id}
    )
    # The first worker stalls inside the render: its "Chromium" sleeps before becoming the real one.
    stalling = tmp_path / "slow-chromium"
    started = tmp_path / "render-started"
    stalling.write_text(f'#!/bin/sh\ntouch {started}\nsleep 60\nexec {find_chromium()} "$@"\n')
    stalling.chmod(0o755)
    task(app, "certificates.render").apply_async(args=[certificate.id, job.id], queue=QUEUE)
    log_path = tmp_path / "workers.log"
    first = start_worker("cert-kill-first", log_path, str(stalling))
    second = None
    try:
        wait_for(started.exists, timeout=60)
        kill(first)
        db.session.rollback()
        stuck = db.session.get(Certificate, certificate.id, populate_existing=True)
        assert (stuck.status, stuck.render_attempts, stuck.storage_key) == ("pending", 1, None)
        assert db.session.get(Job, job.id, populate_existing=True).status == "running"
        time.sleep(VISIBILITY_TIMEOUT + 0.5)  # the unacked message becomes visible again
        second = start_worker("cert-kill-second", log_path, find_chromium())

        def ready():
            db.session.rollback()
            return db.session.get(Job, job.id, populate_existing=True).status in ("succeeded", "failed")

        wait_for(ready, timeout=90)
    except AssertionError:
        print(log_path.read_text(errors="replace")[-5000:])
        raise
    finally:
        kill(first)
        if second is not None:
            kill(second)
    db.session.rollback()
    assert db.session.get(Job, job.id).status == "succeeded"
    [done] = db.session.execute(select(Certificate).where(Certificate.user_id == student.id)).scalars().all()
    assert (done.id, done.status, done.render_attempts, done.error) == (certificate.id, "ready", 2, None)
    assert get_storage().get(done.storage_key).startswith(b"%PDF")
