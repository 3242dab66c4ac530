"""The ceiling: a minimal Flask app returning a JSON body of a given size (optionally from Redis).

gunicorn 'bench.ceiling:create_app()' [CEILING_REDIS_URL=redis://...]; GET /bytes/<n> answers a body
of n bytes (bodies are built once per size), any other path CEILING_BYTES (default 1000) bytes.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache

from flask import Flask, Response


@lru_cache(maxsize=64)
def _body(size: int) -> str:
    return json.dumps({"items": "x" * max(size - 13, 0)})


def create_app() -> Flask:
    default = int(os.environ.get("CEILING_BYTES", "1000"))
    app = Flask("ceiling")
    redis_url = os.environ.get("CEILING_REDIS_URL")
    client = None
    if redis_url:
        import redis

        client = redis.Redis.from_url(redis_url)

    def answer_bytes(size: int) -> Response:
        if client is None:
            return Response(_body(size), mimetype="application/json")
        key = f"ceiling:body:{size}"
        payload = client.get(key)
        if payload is None:
            payload = _body(size)
            client.set(key, payload)
        return Response(payload, mimetype="application/json")

    @app.route("/bytes/<int:size>", methods=["GET", "POST"])
    def sized(size):
        return answer_bytes(size)

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @app.route("/<path:path>", methods=["GET", "POST"])
    def answer(path):
        return answer_bytes(default)

    return app
