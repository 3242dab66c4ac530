"""Micro-caching of anonymous public reads: a whole response kept in the process for CACHE_HOT_SECONDS.

The hottest reads (catalogue pages, domains, course outlines, the leaderboard without a token) are
the same bytes for every anonymous caller. A view marked `@hot_response` that answered 200 from one
family of cached entries (common.cache.note_hot_read) has its body and headers kept, by scheme, host,
path and query string; the next anonymous GET of the same URL within CACHE_HOT_SECONDS is answered
from `before_request` without parsing arguments or running the view. What still runs: the input
edge and the rate limit before it (registered earlier), the security and CORS headers after it.
Freshness is that of common.cache.HotCopies: a write in this process drops its family's responses at
once, other processes' within the bound; a request with an Authorization header is never kept nor
served from here (its answer may depend on who asks).
"""

from __future__ import annotations

from functools import wraps

from flask import Flask, current_app, g, request


def _request_key() -> tuple:
    environ = request.environ
    return (
        environ["wsgi.url_scheme"],
        environ.get("HTTP_HOST", ""),
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
    )


def _hot_copies():
    return getattr(current_app.extensions["cache"], "hot", None)


def hot_response(view):
    """Keep this view's anonymous 200 answers (see the module docstring)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        response = view(*args, **kwargs)
        read = g.pop("hot_read", None)
        hot = _hot_copies()
        if (
            hot is not None
            and read is not None
            and request.method == "GET"
            and "HTTP_AUTHORIZATION" not in request.environ
            and getattr(response, "status_code", None) == 200
            and not response.is_streamed
        ):
            family, generation = read
            payload = (response.get_data(), tuple(response.headers.items()))
            hot.keep_response(_request_key(), family, generation, payload)
        return response

    return wrapper


def _serve_hot():
    if request.method != "GET" or "HTTP_AUTHORIZATION" in request.environ:
        return None
    hot = _hot_copies()
    if hot is None:
        return None
    payload = hot.response(_request_key())
    if payload is None:
        return None
    body, headers = payload
    return current_app.response_class(body, headers=headers)


def init_hot_responses(app: Flask) -> None:
    """Serve kept responses; after the input edge and the rate limit (their hooks come first)."""
    app.before_request(_serve_hot)
