"""One live server on the seeded embedded default (SQLite, in-process tasks, the Razorpay stand-in), and
what a newcomer runs against it: the README tour (scripts/tour.sh), the Postman collection with newman,
and Swagger UI in a real browser."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.node.tools import bin_path, node_modules

ROOT = Path(__file__).resolve().parent.parent
EMBEDDED_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "APP_ENV",
    "RAZORPAY_API_BASE",
    "RAZORPAY_KEY_ID",
    "RAZORPAY_KEY_SECRET",
    "RAZORPAY_WEBHOOK_SECRET",
    "PUBLIC_BASE_URL",
    "FLASK_APP",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{url}: the server exited with {process.returncode}"
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.ConnectionError:
            time.sleep(0.05)  # polling for the port to open, not a fixed wait
    raise AssertionError(f"{url} did not come up in {seconds} s")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """API + Razorpay stand-in as `make run` starts them, on free loopback ports, seeded."""
    home = tmp_path_factory.mktemp("embedded")
    api_port, razorpay_port = _free_port(), _free_port()
    base = f"http://127.0.0.1:{api_port}"
    env = {k: v for k, v in os.environ.items() if k not in EMBEDDED_VARS and not k.startswith("TEST_")}
    env.update(
        INSTANCE_DIR=str(home / "instance"),
        PUBLIC_BASE_URL=base,
        RAZORPAY_STANDIN_PORT=str(razorpay_port),
        RAZORPAY_STANDIN_WEBHOOK_URL=f"{base}/api/payments/webhook",
        RATELIMIT_AUTH="1000 per minute",  # the walkthroughs log in more often than a person would
    )
    flask = [sys.executable, "-m", "flask"]
    for command in (["db", "upgrade"], ["seed"]):
        done = subprocess.run(flask + command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    logs = home / "logs"
    logs.mkdir()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "standins.razorpay", "--port", str(razorpay_port)],
            cwd=ROOT,
            env=env,
            stdout=open(logs / "razorpay.log", "w"),
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            flask + ["run", "--host", "127.0.0.1", "--port", str(api_port), "--with-threads"],
            cwd=ROOT,
            env=env,
            stdout=open(logs / "api.log", "w"),
            stderr=subprocess.STDOUT,
        ),
    ]
    try:
        _wait_for(f"http://127.0.0.1:{razorpay_port}/v1/orders/none", processes[0])
        _wait_for(f"{base}/api/health", processes[1])
        yield {"base": base, "razorpay": f"http://127.0.0.1:{razorpay_port}", "logs": logs, "env": env}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _api_log(live) -> str:
    return (live["logs"] / "api.log").read_text()[-4000:]


def test_readme_tour_runs(live):
    env = {**os.environ, "BASE": live["base"], "RAZORPAY_STANDIN": live["razorpay"], "PYTHON": sys.executable}
    tour = subprocess.run(
        ["bash", str(ROOT / "scripts" / "tour.sh")], env=env, capture_output=True, text=True, timeout=240
    )
    assert tour.returncode == 0 and "TOUR-OK" in tour.stdout, (
        tour.stdout[-3000:] + tour.stderr[-3000:] + _api_log(live)
    )
    assert "public check: valid" in tour.stdout


def test_readme_shows_the_tour_script():
    readme = (ROOT / "README.md").read_text()
    assert "scripts/tour.sh" in readme
    for account in ("admin@example.com", "demo-admin-pass", "student@example.com", "demo-student-pass"):
        assert account in readme


def test_postman_walkthrough_passes_with_newman(live, tmp_path):
    modules = node_modules()
    collection = requests.get(live["base"] + "/api/postman.json", timeout=10).json()
    (tmp_path / "collection.json").write_text(json.dumps(collection))
    report = tmp_path / "report.json"
    run = subprocess.run(
        [
            bin_path(modules, "newman"),
            "run",
            "collection.json",
            "--folder",
            "Walkthrough",
            "--env-var",
            f"baseUrl={live['base']}",
            "--env-var",
            f"razorpayStandin={live['razorpay']}",
            "--reporters",
            "cli,json",
            "--reporter-json-export",
            str(report),
            "--timeout-request",
            "30000",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-8000:]
    stats = json.loads(report.read_text())["run"]["stats"]
    steps = len(collection["item"][0]["item"])
    assert stats["requests"]["total"] == steps >= 15 and stats["requests"]["failed"] == 0
    assert stats["testScripts"]["failed"] == 0 and stats["assertions"]["failed"] == 0
    assert stats["assertions"]["total"] >= 2 * steps


def test_swagger_ui_authorizes_and_executes_a_call(live):
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or os.environ.get("CHROMIUM_PATH")
    if not chromium:
        pytest.skip("no Chromium on this machine")
    login = requests.post(
        live["base"] + "/api/auth/login",
        json={"email": "student@example.com", "password": "demo-student-pass"},
        timeout=10,
    )
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    outside, answers = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on(
                "request",
                lambda r: (
                    None
                    if r.url.startswith(("http://127.0.0.1", "data:", "blob:"))
                    else outside.append(r.url)
                ),
            )
            page.on(
                "response", lambda r: answers.append((r.url, r.status)) if "/api/auth/me" in r.url else None
            )
            page.goto(live["base"] + "/api/docs")
            page.locator(".auth-wrapper").get_by_role("button", name="Authorize").click()
            dialog = page.locator(".dialog-ux")
            dialog.locator("input").first.fill(token)
            dialog.locator("button.modal-btn.authorize").click()
            dialog.locator("button.btn-done").click()
            operation = page.locator("#operations-auth-getMe")
            operation.locator(".opblock-summary").click()
            operation.get_by_role("button", name="Try it out").click()
            operation.get_by_role("button", name="Execute").click()
            status = operation.locator(".live-responses-table tbody .response-col_status").first
            status.wait_for(timeout=15000)
            shown = status.inner_text()
        finally:
            browser.close()
    assert shown.strip().startswith("200"), shown
    assert any(status == 200 for _url, status in answers), answers
    assert outside == []
