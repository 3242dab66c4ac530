"""The suite's Node tools (tests/node/package.json, pinned by its lock file), installed once per lock."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def node_modules() -> Path:
    """A directory with `npm ci` done for this lock file; skips the test only where node/npm are missing."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are not installed on this machine")
    lock = (HERE / "package-lock.json").read_bytes()
    cache = Path(os.environ.get("COURSEHUB_NODE_CACHE") or Path.home() / ".cache" / "coursehub-node")
    target = cache / hashlib.sha256(lock).hexdigest()[:16]
    target.mkdir(parents=True, exist_ok=True)
    # One install per lock file, even with several test processes asking at once.
    with open(target / ".lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if not (target / ".installed").exists():
            shutil.copy(HERE / "package.json", target)
            shutil.copy(HERE / "package-lock.json", target)
            done = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=target,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, done.stderr[-3000:]
            (target / ".installed").touch()
    return target / "node_modules"


def bin_path(modules: Path, name: str) -> str:
    return str(modules / ".bin" / name)
