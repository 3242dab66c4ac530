"""`flask seed` demo data through the catalogue: a page cached before seeding never outlives it."""

from __future__ import annotations

from common.seed import seed_demo_data


def test_seed_shows_up_in_cached_catalogue(client):
    assert client.get("/api/courses").get_json()["total"] == 0
    assert client.get("/api/courses/domains").get_json()["total"] == 0
    result = seed_demo_data()
    assert result["counts"]["courses"] >= 10
    catalogue = client.get("/api/courses?per_page=100").get_json()
    assert catalogue["total"] >= 8
    assert client.get("/api/courses/domains").get_json()["total"] >= 4
    outline = client.get(f"/api/courses/{catalogue['items'][0]['id']}").get_json()
    assert outline["modules"] and outline["modules"][0]["lessons"]
    assert seed_demo_data() is None  # data exists: nothing happens
