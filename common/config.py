"""Settings from the environment; embedded defaults for local use, fail fast in production."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# Secrets that must be set explicitly when running in production mode.
REQUIRED_IN_PRODUCTION = (
    "SECRET_KEY",
    "JWT_SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "RAZORPAY_KEY_ID",
    "RAZORPAY_KEY_SECRET",
    "RAZORPAY_WEBHOOK_SECRET",
)


class ConfigError(RuntimeError):
    """A required setting is missing or malformed."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs whatever scheme the platform hands us."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_config(env: dict | None = None, overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from environment variables.

    Without DATABASE_URL / REDIS_URL the app runs on the embedded default: SQLite, an in-process
    cache and Celery tasks executed in-process. In production mode (APP_ENV=production) every
    secret in REQUIRED_IN_PRODUCTION must be set, else start-up stops naming the missing ones.
    """
    env = dict(os.environ if env is None else env)
    app_env = env.get("APP_ENV", "development")
    production = app_env == "production"
    if production:
        missing = [name for name in REQUIRED_IN_PRODUCTION if not env.get(name)]
        if missing:
            raise ConfigError("missing required settings for production: " + ", ".join(missing))

    instance_dir = Path(env.get("INSTANCE_DIR", BASE_DIR / "instance"))
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'dev.db'}"
    redis_url = env.get("REDIS_URL") or ""
    broker_url = env.get("CELERY_BROKER_URL") or redis_url
    embedded_tasks = not broker_url
    secret = env.get("SECRET_KEY") or "dev-secret-key-change-me-0123456789abcdef"

    cfg = {
        "APP_ENV": app_env,
        "PRODUCTION": production,
        "SECRET_KEY": secret,
        "INSTANCE_DIR": str(instance_dir),
        # Database
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url, env),
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        # Redis / cache / Celery
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": embedded_tasks,
        # Redis transport: an unacknowledged (acks_late) task whose worker died is redelivered after this.
        "CELERY_VISIBILITY_TIMEOUT": _int(env, "CELERY_VISIBILITY_TIMEOUT", 900),
        "CACHE_DEFAULT_TTL": _int(env, "CACHE_DEFAULT_TTL", 300),
        # JWT
        "JWT_SECRET_KEY": env.get("JWT_SECRET_KEY") or secret,
        "JWT_ALGORITHM": "HS256",
        "JWT_DECODE_ALGORITHMS": ["HS256"],
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(seconds=_int(env, "JWT_ACCESS_TOKEN_SECONDS", 900)),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(seconds=_int(env, "JWT_REFRESH_TOKEN_SECONDS", 30 * 86400)),
        "JWT_TOKEN_LOCATION": ["headers"],
        "JWT_ERROR_MESSAGE_KEY": "message",
        # HTTP
        "MAX_CONTENT_LENGTH": _int(env, "MAX_CONTENT_LENGTH", 1024 * 1024),
        # Input edge (web/inputs.py): below gunicorn's own limits (gunicorn.conf.py), so clients get
        # the JSON envelope rather than gunicorn's HTML page.
        "JSON_MAX_DEPTH": _int(env, "JSON_MAX_DEPTH", 32),
        "MAX_URL_LENGTH": _int(env, "MAX_URL_LENGTH", 4096),
        "MAX_HEADER_BYTES": _int(env, "MAX_HEADER_BYTES", 8192),
        "CORS_ORIGINS": [o.strip() for o in env.get("CORS_ORIGINS", "http://localhost:3000").split(",") if o.strip()],
        "PROXY_FIX_HOPS": _int(env, "PROXY_FIX_HOPS", 0),
        "FORCE_HTTPS": _bool(env.get("FORCE_HTTPS"), production),
        "PUBLIC_BASE_URL": (env.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        # Rate limits
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or redis_url or "memory://",
        "RATELIMIT_DEFAULT": env.get("RATELIMIT_DEFAULT", "600 per minute"),
        "RATELIMIT_AUTH": env.get("RATELIMIT_AUTH", "10 per minute"),
        "RATELIMIT_PAYMENTS": env.get("RATELIMIT_PAYMENTS", "30 per minute"),
        "RATELIMIT_FORUM_POST": env.get("RATELIMIT_FORUM_POST", "10 per minute"),
        # No X-RateLimit-* headers: computing them costs two more Redis round trips on every request.
        # A 429 still carries Retry-After (set by web/errors.py from the breached window).
        "RATELIMIT_HEADERS_ENABLED": False,
        # If the limit store is down, serve requests rather than fail them; auth still fails closed.
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_KEY_PREFIX": env.get("RATELIMIT_KEY_PREFIX", "rl"),
        # Razorpay
        "RAZORPAY_KEY_ID": env.get("RAZORPAY_KEY_ID") or "rzp_test_localstandin",
        "RAZORPAY_KEY_SECRET": env.get("RAZORPAY_KEY_SECRET") or "local-standin-key-secret",
        "RAZORPAY_WEBHOOK_SECRET": env.get("RAZORPAY_WEBHOOK_SECRET") or "local-standin-webhook-secret",
        "RAZORPAY_API_BASE": (env.get("RAZORPAY_API_BASE") or "https://api.razorpay.com").rstrip("/"),
        "RAZORPAY_TIMEOUT_SECONDS": float(env.get("RAZORPAY_TIMEOUT_SECONDS") or 10),
        # The embedded default's keys only work against the local stand-in (`python -m standins.razorpay`),
        # so with neither keys nor an API base given (and not in production) payments talk to the stand-in.
        "RAZORPAY_STANDIN_URL": (env.get("RAZORPAY_STANDIN_URL")
                                 or f"http://127.0.0.1:{env.get('RAZORPAY_STANDIN_PORT') or 5010}").rstrip("/"),
        "RAZORPAY_USE_STANDIN": not production and not env.get("RAZORPAY_API_BASE") and not env.get("RAZORPAY_KEY_ID"),
        # Orders left `created` (or verified but not fulfilled) this long are settled by payments.reconcile.
        # ISO 4217 codes a course may be priced in (the Razorpay account must accept each one).
        "SUPPORTED_CURRENCIES": [c.strip().upper() for c in (env.get("SUPPORTED_CURRENCIES") or "INR").split(",")
                                 if c.strip()],
        "PAYMENTS_RECONCILE_AFTER_SECONDS": _int(env, "PAYMENTS_RECONCILE_AFTER_SECONDS", 180),
        # Google OAuth / OpenID Connect
        "GOOGLE_CLIENT_ID": env.get("GOOGLE_CLIENT_ID") or "",
        "GOOGLE_CLIENT_SECRET": env.get("GOOGLE_CLIENT_SECRET") or "",
        "GOOGLE_DISCOVERY_URL": env.get("GOOGLE_DISCOVERY_URL")
        or "https://accounts.google.com/.well-known/openid-configuration",
        # Certificates and storage
        "CHROMIUM_PATH": env.get("CHROMIUM_PATH") or "",
        "CERT_RENDER_TIMEOUT_SECONDS": float(env.get("CERT_RENDER_TIMEOUT_SECONDS") or 30),
        "STORAGE_DIR": env.get("STORAGE_DIR") or str(instance_dir / "storage"),
        "S3_BUCKET": env.get("S3_BUCKET") or "",
        "S3_ENDPOINT_URL": env.get("S3_ENDPOINT_URL") or "",
        "S3_REGION": env.get("S3_REGION") or "us-east-1",
        "S3_ACCESS_KEY_ID": env.get("S3_ACCESS_KEY_ID") or "",
        "S3_SECRET_ACCESS_KEY": env.get("S3_SECRET_ACCESS_KEY") or "",
        # OpenAPI
        "API_TITLE": "CourseHub API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/docs/assets/",
        "API_SPEC_OPTIONS": {
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
            },
        },
    }
    if overrides:
        cfg.update(overrides)
    return cfg


def _engine_options(database_url: str, env: dict) -> dict:
    if database_url.startswith("sqlite"):
        # check_same_thread off: the dev server and in-process tasks share the file across threads.
        return {"connect_args": {"check_same_thread": False, "timeout": 30}}
    return {
        # One extra round trip per checkout that survives database restarts and failovers; turn it
        # off where connections are known to be stable and every millisecond counts.
        "pool_pre_ping": _bool(env.get("DB_POOL_PRE_PING"), True),
        "pool_size": _int(env, "DB_POOL_SIZE", 5),
        "max_overflow": _int(env, "DB_MAX_OVERFLOW", 10),
        "pool_recycle": 1800,
    }
