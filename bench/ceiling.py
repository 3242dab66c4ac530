"""The ceiling: a minimal Flask app returning a JSON body of a given size (optionally from Redis).

gunicorn 'bench.ceiling:create_app()' with CEILING_BYTES=<n> [CEILING_REDIS_URL=redis://...]
"""

from __future__ import annotations

import json
import os

from flask import Flask, Response


def create_app() -> Flask:
    size = int(os.environ.get("CEILING_BYTES", "1000"))
    body = json.dumps({"items": "x" * max(size - 13, 0)})
    app = Flask("ceiling")
    redis_url = os.environ.get("CEILING_REDIS_URL")
    client = None
    if redis_url:
        import redis

        client = redis.Redis.from_url(redis_url)
        client.set("ceiling:body", body)

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @app.route("/<path:path>", methods=["GET", "POST"])
    def answer(path):
        payload = client.get("ceiling:body") if client is not None else body
        return Response(payload, mimetype="application/json")

    return app
