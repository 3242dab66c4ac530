"""The board with Redis stopped: a private redis-server of this test (never the shared one) dies."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
import redis

from common.db import db
from common.gamification import service
from tests.conftest import TEST_REDIS_URL
from tests.factories import auth_headers, make_user


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def private_redis(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    yield proc, url
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=10)


def test_board_answers_from_postgresql_with_redis_stopped(private_redis):
    from web.app import create_app

    proc, url = private_redis
    # Cache, boards and token store on the private server; the limiter stays on the suite's Redis.
    other = create_app({"REDIS_URL": url, "RATELIMIT_STORAGE_URI": TEST_REDIS_URL})
    with other.app_context():
        users = [make_user() for _ in range(3)]
        for n, user in enumerate(users):
            for source in range(n + 1):
                service.award_xp(user_id=user.id, type="quiz_pass", source_id=source, domain="design")
        db.session.commit()
        service.rebuild_leaderboards()
        headers = auth_headers(users[0])
        client = other.test_client()
        before = client.get("/api/leaderboard?domain=design", headers=headers).get_json()
        assert before["source"] == "redis" and before["me"] == {"rank": 3, "points": 20}
        proc.terminate()
        proc.wait(timeout=10)
        for query in ("", "?domain=design", "?period=monthly&limit=2"):
            response = client.get("/api/leaderboard" + query)
            assert response.status_code == 200
            assert response.get_json()["source"] == "database"
        after = client.get("/api/leaderboard?domain=design").get_json()
        assert after["items"] == before["items"] and after["me"] is None
        # With a token: the token store is down too, so the board answers as for an anonymous caller.
        with_token = client.get("/api/leaderboard?domain=design", headers=headers)
        assert with_token.status_code == 200 and with_token.get_json()["items"] == before["items"]
        # Awards still commit (the boards catch up at the next rebuild).
        assert service.award_xp(user_id=users[0].id, type="lesson_complete", source_id=1) == 10
        db.session.commit()
        db.session.remove()
