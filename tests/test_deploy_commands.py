"""The documented commands in a fresh shell: only the README's variables, no FLASK_APP export, no .env.

Each command runs in a subprocess with a clean environment from a copy of the checkout (symlinks,
without any local `.env`), as an operator or a platform's release phase would run it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests

from common.credentials.keys import generate_pem
from standins.razorpay import start_in_thread
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
LOCAL_STATE = {".env", ".venv", "instance", ".git", "__pycache__", ".pytest_cache", ".coverage", "htmlcov"}
BASE_ENV = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}

pytestmark = pytest.mark.slow


def procfile(name: str = "Procfile") -> dict:
    lines = (ROOT / name).read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


@pytest.fixture
def checkout(tmp_path) -> Path:
    """The repository as a fresh clone has it: every tracked top-level entry, no local state."""
    copy = tmp_path / "checkout"
    copy.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in LOCAL_STATE and not entry.name.startswith(".coverage"):
            (copy / entry.name).symlink_to(entry)
    return copy


def documented_env(home: Path, **settings) -> dict:
    for name in settings:
        assert f"`{name}`" in README, f"{name} is not documented in the README"
    return {**BASE_ENV, "HOME": str(home), **settings}


def run(command: str, cwd: Path, env: dict, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, (result.args, result.stdout[-2000:], result.stderr[-3000:])
    return result.stdout


API_PROBE = textwrap.dedent("""
    import json, sys
    from web.app import create_app
    c = create_app().test_client()
    email, password, action = sys.argv[1:4]
    tok = c.post("/api/auth/login", json={"email": email, "password": password}).get_json()["access_token"]
    h = {"Authorization": "Bearer " + tok}
    enrolled = {e["course"]["id"] if "course" in e else e["course_id"] for e in
                c.get("/api/me/enrollments?per_page=100", headers=h).get_json()["items"]}
    if action == "order":
        courses = c.get("/api/courses?per_page=100").get_json()["items"]
        course = next(x for x in courses if x["price"] > 0 and x["id"] not in enrolled)
        order = c.post("/api/payments/order", json={"course_id": course["id"]}, headers=h)
        assert order.status_code in (200, 201), order.get_json()
        print(json.dumps({"course_id": course["id"], "order_id": order.get_json()["order_id"]}))
    else:
        print(json.dumps(sorted(enrolled)))
""")


def test_release_line_and_documented_commands_on_the_embedded_default(checkout, tmp_path):
    razorpay = start_in_thread(
        key_id="rzp_test_localstandin",
        key_secret="local-standin-key-secret",
        webhook_secret="local-standin-webhook-secret",
        webhook_url="http://127.0.0.1:9/api/payments/webhook",
    )
    try:
        env = documented_env(
            tmp_path, INSTANCE_DIR=str(tmp_path / "instance"), RAZORPAY_STANDIN_URL=razorpay.url
        )
        assert "Could not locate" not in ok(run(procfile()["release"], checkout, env))
        seeded = ok(run("flask seed", checkout, env))
        student = re.search(r"student\s+(\S+@example\.com)\s+password: (\S+)", seeded)
        assert student, seeded
        ok(run("flask users create-admin ops@example.com --password 'a-long-password'", checkout, env))
        assert "leaderboards rebuilt" in ok(run("flask leaderboards rebuild", checkout, env))
        ok(run("flask openapi write openapi.json && flask postman write postman.json", checkout, env))
        assert "/api/auth/login" in json.loads((checkout / "openapi.json").read_text())["paths"]
        assert json.loads((checkout / "postman.json").read_text())["item"]
        email, password = student.groups()
        order = json.loads(ok(run(f"python -c '{API_PROBE}' {email} {password} order", checkout, env)))
        paid = ok(run(f"flask payments checkout {order['order_id']} --complete", checkout, env))
        assert "razorpay_signature" in paid and re.search(r"payment \d+: paid", paid), paid
        enrolled = json.loads(ok(run(f"python -c '{API_PROBE}' {email} {password} list", checkout, env)))
        assert order["course_id"] in enrolled
        ok(run("flask payments reconcile --older-than 0", checkout, env))
    finally:
        razorpay.stop()
    assert (tmp_path / "instance" / "dev.db").exists() and not (checkout / "instance").exists()


PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": "p" * 40,
    "JWT_SECRET_KEY": "j" * 40,
    "DATABASE_URL": TEST_DATABASE_URL,
    "REDIS_URL": TEST_REDIS_URL,
    "RAZORPAY_KEY_ID": "rzp_live_x",
    "RAZORPAY_KEY_SECRET": "s",
    "RAZORPAY_WEBHOOK_SECRET": "w",
    "PUBLIC_BASE_URL": "https://courses.example.com",
    "CREDENTIAL_SIGNING_KEY": generate_pem(),
}


def test_release_in_production_and_seed_refused(app, checkout, tmp_path):
    from common.accounts.models import User
    from common.db import db

    env = documented_env(tmp_path, INSTANCE_DIR=str(tmp_path / "instance"), **PRODUCTION)
    # The suite's database is already at head: the release step connects, finds nothing to do, exits 0.
    ok(run(procfile()["release"], checkout, env))
    refused = run("flask seed", checkout, env)
    assert refused.returncode != 0 and "refusing to seed" in refused.stderr
    assert db.session.execute(db.select(User)).first() is None
    missing = run(procfile()["release"], checkout, {**env, "PUBLIC_BASE_URL": ""})
    assert missing.returncode != 0 and "PUBLIC_BASE_URL" in missing.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


READY = {
    "web": "Listening at",
    "worker": "ready.",
    "certificates": "ready.",
    "beat": "beat: Starting",
    "flower": "Visit me at",
}


def test_procfile_processes_start_with_only_documented_settings(checkout, tmp_path):
    """`honcho start` as `make run` does with REDIS_URL set: each process of the Procfile comes up."""
    # A Redis database of its own, so these workers never take the suite's tasks.
    redis_url = re.sub(r"/\d+$", "/13", TEST_REDIS_URL)
    web_port, flower_port = free_port(), free_port()
    env = documented_env(
        tmp_path,
        INSTANCE_DIR=str(tmp_path / "instance"),
        REDIS_URL=redis_url,
        FLOWER_PORT=str(flower_port),
        FLOWER_BASIC_AUTH="ops:flower-pass",
        WEB_CONCURRENCY="1",
        WORKER_CONCURRENCY="1",
        CELERY_BEAT_SCHEDULE=str(tmp_path / "beat-schedule"),
    )
    ok(run(procfile()["release"], checkout, env))
    proc = subprocess.Popen(
        ["honcho", "start", "-p", str(web_port), *READY],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen, output = set(), []
    try:
        deadline = time.monotonic() + 150
        while seen != set(READY) and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output.append(line)
            name = line.split("|", 1)[0].split()[-1].split(".")[0] if "|" in line else ""
            if name in READY and READY[name] in line:
                seen.add(name)
        assert seen == set(READY), "".join(output[-60:])
        assert requests.get(f"http://127.0.0.1:{web_port}/api/health", timeout=5).status_code == 200
        flower = f"http://127.0.0.1:{flower_port}/"
        assert requests.get(flower, timeout=5).status_code == 401
        assert requests.get(flower, auth=("ops", "flower-pass"), timeout=5).status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
