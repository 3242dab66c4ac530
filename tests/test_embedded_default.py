"""Smoke: the embedded default (SQLite, in-process tasks and cache) migrates, seeds and serves."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EMBEDDED_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "APP_ENV", "RAZORPAY_API_BASE")


def _run(args, env, timeout=180):
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_embedded_default_boots_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in EMBEDDED_VARS}
    env.update(INSTANCE_DIR=str(tmp_path / "instance"), FLASK_APP="web.app:create_app")
    flask = [sys.executable, "-m", "flask"]
    upgrade = _run(flask + ["db", "upgrade"], env)
    assert upgrade.returncode == 0, upgrade.stderr
    seed = _run(flask + ["seed"], env)
    assert seed.returncode == 0, seed.stderr
    assert "student@example.com" in seed.stdout
    probe = textwrap.dedent("""
        from web.app import create_app
        app = create_app()
        c = app.test_client()
        ready = c.get("/api/health/ready").get_json()
        assert ready["status"] == "ok" and ready["embedded"] is True, ready
        account = {"email": "e@example.com", "password": "password-1", "name": "E"}
        r = c.post("/api/auth/register", json=account)
        assert r.status_code == 201, r.get_json()
        tok = r.get_json()["access_token"]
        assert c.post("/api/auth/logout", headers={"Authorization": "Bearer " + tok}).status_code == 200
        assert c.get("/api/auth/me", headers={"Authorization": "Bearer " + tok}).status_code == 401
        assert c.get("/api/openapi.json").status_code == 200
        print("EMBEDDED-OK")
    """)
    result = _run([sys.executable, "-c", probe], env)
    assert "EMBEDDED-OK" in result.stdout, result.stderr[-3000:]
    downgrade = _run(flask + ["db", "downgrade", "base"], env)
    assert downgrade.returncode == 0, downgrade.stderr
