"""Settings from the environment; embedded defaults for local use, fail fast in production."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

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
    # Certificates are permanent and carry verification links built from it.
    "PUBLIC_BASE_URL",
    # Signs the Open Badges credentials: a per-machine generated key would orphan them.
    "CREDENTIAL_SIGNING_KEY",
)


APP_ENVS = ("development", "test", "bench", "production")


def _list(value: str | None, default: str = "") -> list[str]:
    return [item.strip() for item in (value or default).split(",") if item.strip()]


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


def _float(env: dict, name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs whatever scheme the platform hands us."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_config(env: dict | None = None, overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from environment variables.

    Without DATABASE_URL / REDIS_URL the app runs on the embedded default: SQLite, an in-process
    cache and Celery tasks executed in-process. In production mode (APP_ENV=production) every
    secret in REQUIRED_IN_PRODUCTION must be set, else start-up stops naming the missing ones.
    """
    # An empty (or blank) value means "use the default", for every setting: `.env` files and
    # compose files write `NAME=` for "not set", and no setting has a meaningful empty value.
    env = {k: v for k, v in (os.environ if env is None else env).items() if v is not None and v.strip()}
    app_env = env.get("APP_ENV", "development")
    if app_env not in APP_ENVS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(APP_ENVS)}, got {app_env!r}")
    production = app_env == "production"
    if production:
        missing = [name for name in REQUIRED_IN_PRODUCTION if not env.get(name)]
        if missing:
            raise ConfigError("missing required settings for production: " + ", ".join(missing))

    instance_dir = Path(env.get("INSTANCE_DIR") or BASE_DIR / "instance")
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'dev.db'}"
    redis_url = env.get("REDIS_URL") or ""
    broker_url = env.get("CELERY_BROKER_URL") or redis_url
    embedded_tasks = not broker_url
    secret = env.get("SECRET_KEY") or "dev-secret-key-change-me-0123456789abcdef"
    # Every Redis client (cache, rate-limit store, Celery broker) gives up quickly on a hung server.
    redis_socket_timeout = _float(env, "REDIS_SOCKET_TIMEOUT", 0.5)
    redis_connect_timeout = _float(env, "REDIS_CONNECT_TIMEOUT", 0.5)

    cfg = {
        "APP_ENV": app_env,
        "PRODUCTION": production,
        "SECRET_KEY": secret,
        "INSTANCE_DIR": str(instance_dir),
        # Database
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url, env),
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        # Checkout check of pooled PostgreSQL connections (common.db.watch_checkouts): a connection the
        # server closed or spoke on while it sat in the pool, or one idle this long, is pinged first.
        "DB_POOL_PRE_PING": _bool(env.get("DB_POOL_PRE_PING"), True),
        "DB_POOL_PING_IDLE_SECONDS": _float(env, "DB_POOL_PING_IDLE_SECONDS", 1.0),
        # Redis / cache / Celery
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": embedded_tasks,
        # Redis transport: an unacknowledged (acks_late) task whose worker died is redelivered after this.
        "CELERY_VISIBILITY_TIMEOUT": _int(env, "CELERY_VISIBILITY_TIMEOUT", 900),
        # Broker socket reads: above the worker's 1 s BRPOP poll, far below a hung server's forever.
        "CELERY_BROKER_SOCKET_TIMEOUT": _float(env, "CELERY_BROKER_SOCKET_TIMEOUT", 2.0),
        "CACHE_DEFAULT_TTL": _int(env, "CACHE_DEFAULT_TTL", 300),
        # Seconds each web process keeps the hottest public bodies (catalogue, outlines, anonymous
        # leaderboards) in memory: how stale another process's answer can be after a change.
        "CACHE_HOT_SECONDS": _float(env, "CACHE_HOT_SECONDS", 0.5),
        "REDIS_SOCKET_TIMEOUT": redis_socket_timeout,
        "REDIS_CONNECT_TIMEOUT": redis_connect_timeout,
        # After a Redis failure, cache calls fail at once for this long before one call probes again.
        "REDIS_BREAKER_SECONDS": _float(env, "REDIS_BREAKER_SECONDS", 2.0),
        # JWT
        "JWT_SECRET_KEY": env.get("JWT_SECRET_KEY") or secret,
        "JWT_ALGORITHM": "HS256",
        "JWT_DECODE_ALGORITHMS": ["HS256"],
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(seconds=_int(env, "JWT_ACCESS_TOKEN_SECONDS", 900)),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(seconds=_int(env, "JWT_REFRESH_TOKEN_SECONDS", 30 * 86400)),
        "JWT_TOKEN_LOCATION": ["headers"],
        # Seconds a web process trusts an access token it found valid in Redis without asking again: a
        # logout, suspension or role change made in another process takes effect within this bound
        # (in the same process at once). 0 asks Redis on every request.
        "TOKEN_CHECK_CACHE_SECONDS": _float(env, "TOKEN_CHECK_CACHE_SECONDS", 2.0),
        "JWT_ERROR_MESSAGE_KEY": "message",
        # HTTP
        "MAX_CONTENT_LENGTH": _int(env, "MAX_CONTENT_LENGTH", 1024 * 1024),
        # Input edge (web/inputs.py): below gunicorn's own limits (gunicorn.conf.py), so clients get
        # the JSON envelope rather than gunicorn's HTML page.
        "JSON_MAX_DEPTH": _int(env, "JSON_MAX_DEPTH", 32),
        "MAX_URL_LENGTH": _int(env, "MAX_URL_LENGTH", 4096),
        "MAX_HEADER_BYTES": _int(env, "MAX_HEADER_BYTES", 8192),
        "CORS_ORIGINS": _list(env.get("CORS_ORIGINS"), "http://localhost:3000"),
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
        # How often each web process adds its RATELIMIT_DEFAULT counts to the store (0: every request).
        "RATELIMIT_SYNC_SECONDS": _float(env, "RATELIMIT_SYNC_SECONDS", 0.25),
        # No X-RateLimit-* headers: computing them costs two more Redis round trips on every request.
        # A 429 still carries Retry-After (set by web/errors.py from the breached window).
        "RATELIMIT_HEADERS_ENABLED": False,
        # If the limit store is down, every limit (auth included) is enforced per process in memory
        # until the store answers again (web/ratelimit.py re-probes it after 1, 2, 4 ... 32 s).
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": _bool(env.get("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"), True),
        # Last resort (fallback disabled): serve requests rather than fail them.
        "RATELIMIT_SWALLOW_ERRORS": True,
        # Never retry a timeout on the limit store either (redis-py retries one 3 times by default).
        "RATELIMIT_STORAGE_OPTIONS": {
            "socket_timeout": redis_socket_timeout,
            "socket_connect_timeout": redis_connect_timeout,
            "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        },
        "RATELIMIT_KEY_PREFIX": env.get("RATELIMIT_KEY_PREFIX", "rl"),
        # Gamification: points per XP type, and the per-UTC-day cap on paid forum posts
        "XP_LESSON_COMPLETE": _int(env, "XP_LESSON_COMPLETE", 10),
        "XP_QUIZ_PASS": _int(env, "XP_QUIZ_PASS", 20),
        "XP_FORUM_POST": _int(env, "XP_FORUM_POST", 5),
        "XP_FORUM_POST_DAILY_CAP": _int(env, "XP_FORUM_POST_DAILY_CAP", 5),
        # Forum: an item with this many open flags (from different users) is hidden pending review.
        "FORUM_AUTO_HIDE_FLAGS": _int(env, "FORUM_AUTO_HIDE_FLAGS", 3),
        # Razorpay
        "RAZORPAY_KEY_ID": env.get("RAZORPAY_KEY_ID") or "rzp_test_localstandin",
        "RAZORPAY_KEY_SECRET": env.get("RAZORPAY_KEY_SECRET") or "local-standin-key-secret",
        "RAZORPAY_WEBHOOK_SECRET": env.get("RAZORPAY_WEBHOOK_SECRET") or "local-standin-webhook-secret",
        "RAZORPAY_API_BASE": (env.get("RAZORPAY_API_BASE") or "https://api.razorpay.com").rstrip("/"),
        "RAZORPAY_TIMEOUT_SECONDS": float(env.get("RAZORPAY_TIMEOUT_SECONDS") or 10),
        # The embedded default's keys only work against the local stand-in (`python -m standins.razorpay`),
        # so with neither keys nor an API base given (and not in production) payments talk to the stand-in.
        "RAZORPAY_STANDIN_URL": (
            env.get("RAZORPAY_STANDIN_URL") or f"http://127.0.0.1:{env.get('RAZORPAY_STANDIN_PORT') or 5010}"
        ).rstrip("/"),
        "RAZORPAY_USE_STANDIN": not production
        and not env.get("RAZORPAY_API_BASE")
        and not env.get("RAZORPAY_KEY_ID"),
        # Orders left `created` (or verified but not fulfilled) this long are settled by payments.reconcile.
        # ISO 4217 codes a course may be priced in (the Razorpay account must accept each one).
        "SUPPORTED_CURRENCIES": [
            c.strip().upper() for c in (env.get("SUPPORTED_CURRENCIES") or "INR").split(",") if c.strip()
        ],
        "PAYMENTS_RECONCILE_AFTER_SECONDS": _int(env, "PAYMENTS_RECONCILE_AFTER_SECONDS", 180),
        # One reconcile run stops asking Razorpay after this long (below the 240 s task soft time limit).
        "PAYMENTS_RECONCILE_BUDGET_SECONDS": _int(env, "PAYMENTS_RECONCILE_BUDGET_SECONDS", 120),
        # A webhook event still failing after this many handling attempts is marked `failed` for an admin.
        "WEBHOOK_MAX_ATTEMPTS": _int(env, "WEBHOOK_MAX_ATTEMPTS", 12),
        # Jobs: a claim's lease (must outlast celeryconfig.task_time_limit = 300 s and stay below the
        # broker's visibility timeout, so a task redelivered after a worker death can take over).
        "JOB_LEASE_SECONDS": _int(env, "JOB_LEASE_SECONDS", 330),
        # jobs.sweep re-sends queued jobs whose message never reached the broker after this long ...
        "JOB_SWEEP_AFTER_SECONDS": _int(env, "JOB_SWEEP_AFTER_SECONDS", 60),
        # ... and fails them after this many sends.
        "JOB_MAX_SEND_ATTEMPTS": _int(env, "JOB_MAX_SEND_ATTEMPTS", 10),
        # Google OAuth / OpenID Connect
        "GOOGLE_CLIENT_ID": env.get("GOOGLE_CLIENT_ID") or "",
        "GOOGLE_CLIENT_SECRET": env.get("GOOGLE_CLIENT_SECRET") or "",
        "GOOGLE_DISCOVERY_URL": env.get("GOOGLE_DISCOVERY_URL")
        or "https://accounts.google.com/.well-known/openid-configuration",
        # Single-page apps: the callback redirects to one of these (the first unless the login asked
        # for another one of them) with a one-time code to exchange for tokens. Empty: JSON tokens.
        "FRONTEND_URL": _list(env.get("FRONTEND_URL")),
        "OAUTH_CODE_TTL_SECONDS": _int(env, "OAUTH_CODE_TTL_SECONDS", 60),
        # Certificates and storage
        "CHROMIUM_PATH": env.get("CHROMIUM_PATH") or "",
        "CERT_RENDER_TIMEOUT_SECONDS": float(env.get("CERT_RENDER_TIMEOUT_SECONDS") or 30),
        # A certificate whose render was attempted this often is `failed` (the sweep stops re-queuing it).
        "CERT_MAX_RENDER_ATTEMPTS": _int(env, "CERT_MAX_RENDER_ATTEMPTS", 10),
        "STORAGE_DIR": env.get("STORAGE_DIR") or str(instance_dir / "storage"),
        "S3_BUCKET": env.get("S3_BUCKET") or "",
        "S3_ENDPOINT_URL": env.get("S3_ENDPOINT_URL") or "",
        "S3_REGION": env.get("S3_REGION") or "us-east-1",
        "S3_ACCESS_KEY_ID": env.get("S3_ACCESS_KEY_ID") or "",
        "S3_SECRET_ACCESS_KEY": env.get("S3_SECRET_ACCESS_KEY") or "",
        # Open Badges credentials (common/credentials): the Ed25519 key (PKCS#8 PEM; default: generated
        # once into INSTANCE_DIR), the public keys of retired signing keys (JSON JWKS) and the issuer's name.
        "CREDENTIAL_SIGNING_KEY": env.get("CREDENTIAL_SIGNING_KEY") or "",
        "CREDENTIAL_PREVIOUS_PUBLIC_KEYS": env.get("CREDENTIAL_PREVIOUS_PUBLIC_KEYS") or "",
        "CREDENTIAL_ISSUER_NAME": env.get("CREDENTIAL_ISSUER_NAME") or "CourseHub",
        # Admin: stats cache, exported reports
        "ADMIN_STATS_CACHE_SECONDS": _int(env, "ADMIN_STATS_CACHE_SECONDS", 60),
        "REPORT_RETENTION_DAYS": _int(env, "REPORT_RETENTION_DAYS", 7),
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
    _check_credential_keys(cfg)
    return cfg


def _check_credential_keys(cfg: dict) -> None:
    """A malformed signing key or retired-key list stops start-up, not the first credential request."""
    from common.credentials.keys import KeySettingError, load_private_key, parse_previous_keys

    try:
        if cfg["CREDENTIAL_SIGNING_KEY"]:
            load_private_key(cfg["CREDENTIAL_SIGNING_KEY"])
        parse_previous_keys(cfg["CREDENTIAL_PREVIOUS_PUBLIC_KEYS"])
    except KeySettingError as exc:
        raise ConfigError(str(exc)) from exc


def _engine_options(database_url: str, env: dict) -> dict:
    if database_url.startswith("sqlite"):
        # check_same_thread off: the dev server and in-process tasks share the file across threads.
        return {"connect_args": {"check_same_thread": False, "timeout": 30}, "hide_parameters": True}
    return {
        # Statement parameters (emails, token hashes, ids) never go into exception messages or logs.
        "hide_parameters": True,
        # No pool_pre_ping: common/db.py checks a connection at checkout without a round trip unless
        # it sat idle or the server closed it (DB_POOL_PRE_PING, DB_POOL_PING_IDLE_SECONDS).
        "pool_size": _int(env, "DB_POOL_SIZE", 5),
        "max_overflow": _int(env, "DB_MAX_OVERFLOW", 10),
        "pool_recycle": 1800,
    }
