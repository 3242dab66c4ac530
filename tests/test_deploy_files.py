"""Deployment files, checked without a Docker engine: compose against the Compose Specification's
JSON schema plus the invariants that keep it safe, the Dockerfile's writable paths, .dockerignore."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
import yaml

from common.config import REQUIRED_IN_PRODUCTION

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("release", "web", "worker", "certificates", "beat", "flower")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # resolves the <<: merges


def procfile() -> dict:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


def test_compose_file_follows_the_compose_specification(compose):
    schema = json.loads(
        files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    )
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []
    # The checker can fail: a misspelt key is an error.
    assert list(validator.iter_errors({"services": {"web": {"image": "x", "prots": ["1:1"]}}}))


def test_every_app_service_runs_in_production_with_every_secret_required(compose):
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service["build"] == "." and service["command"], name
        env = service["environment"]
        assert env["APP_ENV"] == "production", name
        for setting in REQUIRED_IN_PRODUCTION:
            value = str(env[setting])
            # Either a fixed in-stack address or `${NAME:?message}`: compose refuses to start without it.
            assert value.startswith(f"${{{setting}:?") or setting in ("DATABASE_URL", "REDIS_URL"), (
                name,
                setting,
            )
        # The image's writable places; the code directory belongs to root.
        assert env["INSTANCE_DIR"].startswith("/data/") and env["STORAGE_DIR"].startswith("/data/")


def _published(service: dict) -> list[str]:
    return [str(p) for p in service.get("ports", [])]


def test_published_ports_are_loopback_so_forwarded_headers_cannot_be_forged(compose):
    hops = re.fullmatch(
        r"\$\{PROXY_FIX_HOPS:-(\d+)\}", compose["services"]["web"]["environment"]["PROXY_FIX_HOPS"]
    )
    assert hops, "PROXY_FIX_HOPS needs a default in the compose file"
    for name, service in compose["services"].items():
        for port in _published(service):
            # Trusting a proxy hop only makes sense if nothing but that proxy (on the host) reaches the port.
            if int(hops.group(1)) > 0 or name == "flower":
                assert port.startswith("127.0.0.1:"), (name, port)
    assert [s for s, v in compose["services"].items() if _published(v)] == ["web", "flower"]


def test_flower_asks_for_a_login(compose):
    flower = compose["services"]["flower"]
    assert flower["environment"]["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")
    assert "flower" in flower["command"] and "--port=5555" in flower["command"]
    assert "--address=127.0.0.1" in procfile()["flower"]


def test_compose_runs_the_procfile_release_step_before_the_app(compose):
    services = compose["services"]
    assert services["release"]["command"] == procfile()["release"] == "flask db upgrade"
    assert services["release"]["restart"] == "no" and "release" not in services["release"]["depends_on"]
    for name in ("web", "worker", "certificates", "beat", "flower"):
        assert services[name]["depends_on"]["release"] == {"condition": "service_completed_successfully"}, (
            name
        )
    for name in ("worker", "certificates", "beat"):
        assert shlex.split(services[name]["command"])[:3] == shlex.split(procfile()[name])[:3]


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [
        tuple(line.strip().split(None, 1))
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def test_image_runs_unprivileged_with_its_writable_paths_owned_by_that_user():
    steps = dockerfile_instructions()
    env = {}
    for instruction, args in steps:
        if instruction == "ENV":
            env.update(dict(item.split("=", 1) for item in shlex.split(args)))
    user_index = max(i for i, (instruction, _) in enumerate(steps) if instruction == "USER")
    user = steps[user_index][1]
    assert user not in ("root", "0")
    before_user = " ".join(args for instruction, args in steps[:user_index] if instruction == "RUN")
    chowned = re.findall(rf"chown -R {user}(?::{user})? (\S+)", before_user)
    for setting in ("INSTANCE_DIR", "STORAGE_DIR"):
        path = env[setting]
        # create_app() makes INSTANCE_DIR at start-up: it must be writable by the user the image runs as.
        assert any(path == c or path.startswith(c.rstrip("/") + "/") for c in chowned), (
            setting,
            path,
            chowned,
        )
        assert not path.startswith(env.get("WORKDIR", "/app"))
    workdir = next(args for instruction, args in steps if instruction == "WORKDIR")
    assert not any(c == workdir or workdir.startswith(c) for c in chowned), "the code must stay root-owned"
    assert env["FLASK_APP"] == "web.app:create_app"


def dockerignored(path: str) -> bool:
    """Docker's rule: the last matching pattern wins, `!` re-includes."""
    ignored = False
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        if fnmatch.fnmatchcase(path, pattern) or path.startswith(pattern + "/"):
            ignored = not negate
    return ignored


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    for path in (".env", ".env.local", ".venv/bin/python", "instance/dev.db", ".git/config"):
        assert dockerignored(path), path
    for path in (
        ".env.example",
        ".flaskenv",
        "web/app.py",
        "migrations/env.py",
        "requirements.txt",
        "Procfile",
    ):
        assert not dockerignored(path), path
