"""Smoke: the app answers on PostgreSQL/Redis."""


def test_health(client):
    assert client.get("/api/health").get_json() == {"status": "ok"}
    body = client.get("/api/health/ready").get_json()
    assert body["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}
    assert body["embedded"] is False


def test_readiness_bodies_are_documented(client):
    spec = client.get("/api/openapi.json").get_json()
    responses = spec["paths"]["/api/health/ready"]["get"]["responses"]
    assert {"200", "503"} <= set(responses)
    schema = responses["503"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/Ready")
    ready = spec["components"]["schemas"]["Ready"]["properties"]
    assert ready["checks"]["additionalProperties"]["enum"] == ["ok", "unavailable"]
    callback = spec["paths"]["/api/auth/oauth/google/callback"]["get"]["responses"]
    assert {"200", "401", "403", "503"} <= set(callback)
