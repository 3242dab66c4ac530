"""Settings from the environment: embedded defaults, production fail-fast, URL normalisation."""

from __future__ import annotations

import pytest

from common.config import REQUIRED_IN_PRODUCTION, ConfigError, load_config, normalise_database_url
from common.credentials.keys import generate_pem


def test_embedded_default_needs_no_services():
    cfg = load_config(env={"INSTANCE_DIR": "/tmp/x"})
    assert cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert cfg["CELERY_TASK_ALWAYS_EAGER"] is True
    assert cfg["RATELIMIT_STORAGE_URI"] == "memory://"
    assert cfg["REDIS_URL"] == ""
    assert cfg["RAZORPAY_API_BASE"] == "https://api.razorpay.com"
    assert cfg["GOOGLE_DISCOVERY_URL"].endswith("/.well-known/openid-configuration")


def test_real_stack_from_env():
    cfg = load_config(env={"DATABASE_URL": "postgres://u@db/app", "REDIS_URL": "redis://r:6379/0"})
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/app"
    assert cfg["CELERY_BROKER_URL"] == "redis://r:6379/0"
    assert cfg["CELERY_TASK_ALWAYS_EAGER"] is False
    assert cfg["RATELIMIT_STORAGE_URI"] == "redis://r:6379/0"
    # Connections are checked at checkout by common.db.watch_checkouts, not by a ping on every checkout.
    assert "pool_pre_ping" not in cfg["SQLALCHEMY_ENGINE_OPTIONS"]
    assert cfg["DB_POOL_PRE_PING"] is True and cfg["DB_POOL_PING_IDLE_SECONDS"] == 1.0
    separate = load_config(env={"REDIS_URL": "redis://r/0", "CELERY_BROKER_URL": "amqp://guest@mq//"})
    assert separate["CELERY_BROKER_URL"] == "amqp://guest@mq//"


def test_production_names_every_missing_secret():
    with pytest.raises(ConfigError) as info:
        load_config(env={"APP_ENV": "production", "SECRET_KEY": "x" * 40})
    message = str(info.value)
    for name in REQUIRED_IN_PRODUCTION:
        if name != "SECRET_KEY":
            assert name in message
    assert "SECRET_KEY" not in message.replace("JWT_SECRET_KEY", "")


def test_production_with_everything_set_starts():
    env = {name: "set-" + name.lower() for name in REQUIRED_IN_PRODUCTION}
    env.update(APP_ENV="production", DATABASE_URL="postgresql://u@db/app", REDIS_URL="redis://r/0")
    env["CREDENTIAL_SIGNING_KEY"] = generate_pem()  # parsed at start-up: a placeholder is refused
    cfg = load_config(env=env)
    assert cfg["PRODUCTION"] and cfg["FORCE_HTTPS"]


def test_bad_integer_setting_is_named():
    with pytest.raises(ConfigError, match="MAX_CONTENT_LENGTH"):
        load_config(env={"MAX_CONTENT_LENGTH": "lots"})


def test_normalise_database_url_keeps_other_schemes():
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"
    assert normalise_database_url("postgresql://a/b") == "postgresql+psycopg://a/b"


def test_create_app_refuses_to_start_in_production_without_secrets(monkeypatch):
    from web.app import create_app

    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("RAZORPAY_KEY_SECRET", raising=False)
    monkeypatch.setenv("RAZORPAY_KEY_SECRET", "")
    with pytest.raises(ConfigError, match="RAZORPAY_KEY_SECRET"):
        create_app()
