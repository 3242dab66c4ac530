"""Run a Python script against a fresh SQLite database (the embedded default) in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The suite's services: left out, so the script's app falls back to SQLite and the in-process cache.
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "RATELIMIT_STORAGE_URI")


def run_on_sqlite(script: str, tmp_path: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    """`python -c script` from the repository root with DATABASE_URL on a new SQLite file in tmp_path."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'dev.db'}", INSTANCE_DIR=str(tmp_path), APP_ENV="test")
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
