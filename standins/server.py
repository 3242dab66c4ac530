"""Run a stand-in WSGI app on loopback, in a background thread (tests) or in the foreground (CLI)."""

from __future__ import annotations

import argparse
import threading

from werkzeug.serving import make_server


class BackgroundServer:
    """A werkzeug server on 127.0.0.1 in a daemon thread; `url` is its base URL."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        self.server = make_server(host, port, app, threaded=True)
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


def main(build_app, description: str, default_port: int) -> None:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    args = parser.parse_args()
    app = build_app(f"http://{args.host}:{args.port}")
    print(f"{description} listening on http://{args.host}:{args.port}", flush=True)
    make_server(args.host, args.port, app, threaded=True).serve_forever()
