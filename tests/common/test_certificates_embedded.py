"""The embedded default (SQLite, tasks in-process): completing a course renders the PDF in the request."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
EMBEDDED_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "APP_ENV", "S3_BUCKET")

pytestmark = pytest.mark.slow

PROBE = textwrap.dedent("""
    import threading
    from pathlib import Path

    from common.accounts import tokens
    from common.accounts.models import User
    from common.catalog.models import Course
    from common.certificates.models import Certificate
    from common.certificates.renderer import renderer
    from common.certificates.service import request_certificate
    from common.db import db
    from web.app import create_app

    app = create_app()
    assert app.config["CELERY_TASK_ALWAYS_EAGER"]
    with app.app_context():
        teacher = User(email="t@example.com", name="Teach Er", role="instructor", password_hash="x")
        learners = [User(email=f"s{i}@example.com", name=f"Embedded Learner {i}", role="student",
                         password_hash="x") for i in range(2)]
        db.session.add_all([teacher, *learners])
        db.session.flush()
        course = Course(instructor_id=teacher.id, title="Embedded Course", description="d", domain="d",
                        price=0, currency="INR", status="approved")
        db.session.add(course)
        db.session.commit()
        ids = [u.id for u in learners]
        course_id = course.id

    def complete(user_id):
        # Like a request thread of `flask run --with-threads`: lives for one request only.
        with app.app_context():
            cert = request_certificate(user_id=user_id, course_id=course_id)
            assert cert.status == "ready", (cert.status, cert.error)  # rendered before the call returned
            db.session.remove()

    for user_id in ids:
        thread = threading.Thread(target=complete, args=(user_id,))
        thread.start()
        thread.join()
    with app.app_context():
        assert renderer.launches() == 1  # one warm browser served both short-lived threads
        cert = db.session.execute(db.select(Certificate).where(Certificate.user_id == ids[0])).scalar_one()
        assert (Path(app.config["STORAGE_DIR"]) / cert.storage_key).is_file()
        user = db.session.get(User, ids[0])
        headers = {"Authorization": "Bearer " + tokens.issue_tokens(user)["access_token"]}
        resp = app.test_client().get(f"/api/certificates/{cert.id}/download", headers=headers)
        assert resp.status_code == 200 and resp.data.startswith(b"%PDF"), resp.status_code
    renderer.shutdown()
    print("EMBEDDED-CERT-OK")
""")


def test_embedded_default_renders_in_process(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in EMBEDDED_VARS}
    env.update(
        INSTANCE_DIR=str(tmp_path / "instance"),
        STORAGE_DIR=str(tmp_path / "storage"),
        FLASK_APP="web.app:create_app",
        PYTHONPATH=str(ROOT),
    )
    upgrade = subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert upgrade.returncode == 0, upgrade.stderr[-3000:]
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert "EMBEDDED-CERT-OK" in result.stdout, result.stderr[-3000:]
    assert len(list((tmp_path / "storage" / "certificates").glob("*.pdf"))) == 2
