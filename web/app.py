"""Application factory: config, extensions, blueprints from one registry, error envelope."""

from __future__ import annotations

import logging
from importlib import import_module
from pathlib import Path

from flask import Flask, send_from_directory
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

import common.models  # noqa: F401  (every table registered on the metadata)
from common.cache import init_cache
from common.config import BASE_DIR, load_config
from common.db import db, init_db
from web.errors import register_error_handlers
from web.extensions import jwt, limiter, migrate, talisman
from web.headers import init_headers
from web.hot import init_hot_responses
from web.inputs import document_converters, init_input_edge
from web.openapi import ContractApi, ContractPlugin, mark_response_fields_required
from web.resources import BLUEPRINTS


class LazySessionInterface(SecureCookieSessionInterface):
    """Build the cookie signer only for requests that carry a session cookie.

    The API is stateless; only the OAuth redirect flow keeps state in the session, so every other
    request skips the serializer construction Flask would otherwise do on each request.
    """

    def open_session(self, app, request):
        # The raw Cookie header first: parsing request.cookies costs more than most requests' work.
        raw = request.environ.get("HTTP_COOKIE")
        if (
            not raw
            or self.get_cookie_name(app) not in raw
            or self.get_cookie_name(app) not in request.cookies
        ):
            return self.session_class()
        return super().open_session(app, request)


def create_app(config: dict | None = None) -> Flask:
    """Build the Flask app; `config` overrides settings read from the environment."""
    settings = load_config(overrides=config)
    app = Flask(__name__, instance_path=settings["INSTANCE_DIR"])
    app.config.update(settings)
    init_input_edge(app)
    app.session_interface = LazySessionInterface()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    # X-Forwarded-Proto counts only through ProxyFix (which turns it into the request's scheme):
    # Talisman reads the raw header otherwise, and any client could send it.
    app.wsgi_app = _drop_forwarded_proto(app.wsgi_app)
    if app.config["PROXY_FIX_HOPS"]:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)

    init_db(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    init_cache(app)
    jwt.init_app(app)
    limiter.init_app(app)
    init_hot_responses(app)
    api = ContractApi(app, spec_kwargs={"extra_plugins": [ContractPlugin(_rate_limit_exempt(app))]})
    app.extensions["api"] = api
    document_converters(api)
    for name in BLUEPRINTS:
        api.register_blueprint(import_module(f"web.resources.{name}.routes").blp)
    mark_response_fields_required(api.spec)
    register_error_handlers(app)
    init_headers(app, talisman)
    _init_docs_assets(app)

    from common.celery_factory import make_celery
    from web.cli import register_cli

    make_celery(app)
    register_cli(app)
    return app


def _rate_limit_exempt(app: Flask):
    """Whether a view is exempt from every rate limit (its operation then documents no 429)."""

    def exempt(endpoint: str) -> bool:
        # web/ratelimit.py marks each view with its plan; "exempt" views never answer 429.
        return getattr(app.view_functions.get(endpoint), "_rate_limit", "default") == "exempt"

    return exempt


def _drop_forwarded_proto(wsgi_app):
    def middleware(environ, start_response):
        environ.pop("HTTP_X_FORWARDED_PROTO", None)
        return wsgi_app(environ, start_response)

    return middleware


def _init_docs_assets(app: Flask) -> None:
    """Serve Swagger UI's files from the installed package: /api/docs works with no internet."""
    import flask_swagger_ui

    dist = Path(flask_swagger_ui.__file__).parent / "dist"

    @app.get("/api/docs/assets/<path:filename>")
    @limiter.exempt
    def swagger_assets(filename):
        return send_from_directory(dist, filename, max_age=86400)

    @app.get("/api/postman.json")
    @limiter.exempt
    def postman_collection():
        from web.postman import build_collection

        return build_collection()
