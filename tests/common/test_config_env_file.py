"""`.env.example` as shipped: every key empty means the defaults, both .env readers agree, all documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dotenv import dotenv_values
from honcho.environ import parse as honcho_parse

from common.config import ConfigError, load_config
from common.credentials.keys import generate_pem

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / ".env.example"
# Read by Flower and by the Razorpay stand-in, not by the app's config.
PROCESS_SETTINGS = {
    "FLOWER_BASIC_AUTH",
    "RAZORPAY_STANDIN_WEBHOOK_URL",
    "WEB_WORKER_CLASS",
    "WEB_CONCURRENCY",
    "WEB_THREADS",
}


def example_keys() -> list[str]:
    return list(dotenv_values(EXAMPLE))


def test_every_key_empty_loads_the_defaults():
    keys = example_keys()
    assert len(keys) >= 40
    blank = load_config(env={k: "" for k in keys})
    spaces = load_config(env={k: "  " for k in keys})
    defaults = load_config(env={})
    assert blank == defaults == spaces
    assert defaults["APP_ENV"] == "development" and defaults["INSTANCE_DIR"].endswith("instance")
    assert (
        defaults["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///") and defaults["CELERY_TASK_ALWAYS_EAGER"]
    )
    assert defaults["RATELIMIT_DEFAULT"] == "600 per minute" and defaults["CORS_ORIGINS"] == [
        "http://localhost:3000"
    ]
    assert defaults["FRONTEND_URL"] == [] and defaults["OAUTH_CODE_TTL_SECONDS"] == 60


def test_the_example_as_shipped_is_the_embedded_default_with_stand_ins():
    cfg = load_config(env=dotenv_values(EXAMPLE))
    assert cfg["APP_ENV"] == "development" and not cfg["PRODUCTION"]
    assert cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    # Payments go to the local stand-in, not to the real Razorpay with stand-in keys (which answers 503).
    assert cfg["RAZORPAY_USE_STANDIN"] is True


def test_python_dotenv_and_honcho_read_the_same_values():
    # `flask` reads .env through python-dotenv, `make run` through honcho (which drops empty values).
    text = EXAMPLE.read_text()
    with_values = {k: v for k, v in dotenv_values(EXAMPLE).items() if v}
    assert honcho_parse(text) == with_values
    assert with_values == {"APP_ENV": "development"}


def test_every_setting_is_in_the_example_and_the_readme():
    readme = (ROOT / "README.md").read_text()
    read_by_config = set(
        re.findall(r'env(?:\.get\(|, )"([A-Z][A-Z0-9_]+)"', (ROOT / "common/config.py").read_text())
    )
    keys = set(example_keys())
    assert read_by_config - {"RAZORPAY_STANDIN_PORT"} <= keys
    assert (keys - PROCESS_SETTINGS) <= read_by_config
    for key in keys:
        assert f"`{key}`" in readme, f"{key} is missing from the README"


def test_unknown_app_env_is_refused():
    with pytest.raises(ConfigError, match="APP_ENV"):
        load_config(env={"APP_ENV": "prod"})


def test_production_requires_public_base_url():
    env = {
        name: "set"
        for name in (
            "SECRET_KEY",
            "JWT_SECRET_KEY",
            "RAZORPAY_KEY_ID",
            "RAZORPAY_KEY_SECRET",
            "RAZORPAY_WEBHOOK_SECRET",
        )
    }
    env.update(APP_ENV="production", DATABASE_URL="postgresql://u@db/app", REDIS_URL="redis://r/0")
    env["CREDENTIAL_SIGNING_KEY"] = generate_pem()  # also required in production
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        load_config(env={**env, "PUBLIC_BASE_URL": ""})
    assert (
        load_config(env={**env, "PUBLIC_BASE_URL": "https://courses.example.com/"})["PUBLIC_BASE_URL"]
        == "https://courses.example.com"
    )
