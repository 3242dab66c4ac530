"""Response headers in one precomputed after_request: Talisman's, flask-cors' and Cache-Control.

Talisman and flask-cors each re-derive the same headers on every request (per-view option lookups,
pattern matching, policy string building): about 60 µs of a request that does nothing. Both are
still the source of truth: Talisman's headers are captured once per scheme (http, https) from
Talisman itself at start-up, and CORS headers come from flask-cors' own `get_cors_headers`, memoised
per Origin value for simple requests (preflights and private-network requests ask it every time).
"""

from __future__ import annotations

from urllib.parse import unquote

from flask import Flask, request
from flask_cors.core import (
    ACL_REQUEST_HEADER_PRIVATE_NETWORK,
    get_cors_headers,
    get_cors_options,
    parse_resources,
    try_match_pattern,
)
from flask_talisman import Talisman

API_CSP = {"default-src": "'none'", "frame-ancestors": "'none'"}
# The Swagger UI page is the one HTML page we serve; its assets come from this app only.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
)
EXPOSED_HEADERS = ["Link", "Location", "Retry-After", "Content-Disposition", "WWW-Authenticate"]
# Distinct Origin values remembered; past this (a client sending random origins) headers are computed.
_ORIGIN_MEMO_SIZE = 256
_PRIVATE_NETWORK = "HTTP_" + ACL_REQUEST_HEADER_PRIVATE_NETWORK.upper().replace("-", "_")


def _talisman_headers(app: Flask, talisman: Talisman, secure: bool) -> tuple[tuple[str, str], ...]:
    """The headers Talisman sets on a response over http or https (they are the same for every view:
    no route has per-view Talisman options)."""
    base = "https://localhost" if secure else "http://localhost"
    with app.test_request_context("/api/health", base_url=base):
        response = app.response_class()
        before = set(response.headers.keys())
        talisman._set_response_headers(response)
        return tuple((k, v) for k, v in response.headers.items() if k not in before)


def _cors_for(app: Flask):
    """flask-cors' resources and options as `CORS(app, resources=..., ...)` would compute them."""
    raw = {
        "resources": {r"/api/*": {"origins": app.config["CORS_ORIGINS"]}},
        "expose_headers": EXPOSED_HEADERS,
        "supports_credentials": False,
    }
    resources = parse_resources(raw.pop("resources"))
    return [(pattern, get_cors_options(app, raw, opts)) for pattern, opts in resources]


def init_headers(app: Flask, talisman: Talisman) -> None:
    """Talisman (HTTPS redirect, cookie flags) and one after_request that sets every header."""
    force_https = app.config["FORCE_HTTPS"]
    talisman.init_app(
        app,
        force_https=force_https,
        strict_transport_security=force_https,
        content_security_policy=API_CSP,
        session_cookie_secure=force_https,
        frame_options="DENY",
        referrer_policy="no-referrer",
    )
    # Talisman's per-request header hook is replaced by the precomputed headers below; its nonce hook
    # does nothing without a nonce in the CSP, and its HTTPS redirect is only needed when forced.
    app.after_request_funcs[None].remove(talisman._set_response_headers)
    app.before_request_funcs[None].remove(talisman._make_nonce)
    if not force_https:
        app.before_request_funcs[None].remove(talisman._force_https)
    security = {False: _talisman_headers(app, talisman, False), True: _talisman_headers(app, talisman, True)}
    cors_resources = _cors_for(app)
    memo: dict[tuple, tuple[tuple[str, str], ...]] = {}

    def cors_headers(path: str):
        for pattern, options in cors_resources:
            if try_match_pattern(path, pattern, caseSensitive=True):
                return get_cors_headers(options, request.headers, request.method).items()
        return ()

    def all_headers(path: str, secure: bool):
        """Talisman's and flask-cors' headers for this request; memoised for simple requests, whose
        CORS headers depend only on the path's resource and the Origin value."""
        # One CORS resource (/api/*), so every /api/ path shares its options.
        if request.method == "OPTIONS" or _PRIVATE_NETWORK in request.environ or not path.startswith("/api/"):
            return (*security[secure], *cors_headers(path))
        key = (secure, request.environ.get("HTTP_ORIGIN"))
        found = memo.get(key)
        if found is None:
            found = (*security[secure], *cors_headers(path))
            if len(memo) < _ORIGIN_MEMO_SIZE:
                memo[key] = found
        return found

    @app.after_request
    def _headers(response):
        headers = response.headers
        path = request.path
        # No route sets these itself: appending (not replacing) them is exact and cheaper.
        headers.extend(all_headers(unquote(path) if "%" in path else path, request.is_secure))
        if path.startswith("/api/docs"):
            headers["Content-Security-Policy"] = DOCS_CSP
        # Tokens (everything under /api/auth) must never sit in a cache; neither may answers for a
        # signed-in caller. A route that chose its own Cache-Control keeps it.
        if "Cache-Control" not in headers:
            if request.blueprint == "auth":
                headers["Cache-Control"] = "no-store"
                headers["Pragma"] = "no-cache"
            elif "Authorization" in request.headers and response.mimetype == "application/json":
                headers["Cache-Control"] = "private, no-store"
        return response
