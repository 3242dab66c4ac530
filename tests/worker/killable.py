"""A real Celery worker subprocess that a test can SIGKILL mid-task, and the kill itself.

The worker consumes a queue of its own (so the in-process celery_worker fixture never takes the
task), with a short visibility timeout and a job lease below it, as in production (330 s < 900 s):
the redelivered task finds the dead worker's claim expired and takes the job over.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT = 2


def start_worker(name: str, queue: str, log_path: Path, **env: str) -> subprocess.Popen:
    """Start `celery worker -Q queue` (prefork, one child) with `env` added to the environment."""
    env = dict(
        os.environ,
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        JOB_LEASE_SECONDS=str(VISIBILITY_TIMEOUT - 1),
        **env,
    )
    # prefork as in production: the parent acknowledges on accept unless the task is acks_late (the solo
    # pool would only acknowledge after the task returned, so it could not tell the two apart).
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker.celery_app",
        "worker",
        "-Q",
        queue,
        "-P",
        "prefork",
        "-c",
        "1",
        "-n",
        f"{name}@%h",
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
        "--loglevel=INFO",
    ]
    # A session of its own: SIGKILL reaches the worker and anything it started (Chromium), nothing else.
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the worker's whole session and reap it."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
