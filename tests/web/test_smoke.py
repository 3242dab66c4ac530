"""Smoke: the app answers on PostgreSQL/Redis."""


def test_health(client):
    assert client.get("/api/health").get_json() == {"status": "ok"}
    body = client.get("/api/health/ready").get_json()
    assert body["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}
    assert body["embedded"] is False
