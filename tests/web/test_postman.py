"""The Postman collection's shape: path variables, example bodies, token-storing login, a test everywhere."""

from __future__ import annotations

import json


def _requests(collection):
    for folder in collection["item"]:
        for item in folder["item"]:
            yield folder["name"], item


def test_every_request_has_a_test_path_variables_and_example_bodies(client):
    collection = client.get("/api/postman.json").get_json()
    items = list(_requests(collection))
    assert collection["item"][0]["name"] == "Walkthrough" and len(items) > 90
    for _folder, item in items:
        scripts = [e for e in item["event"] if e["listen"] == "test"]
        assert scripts and "pm.test(" in "\n".join(scripts[0]["script"]["exec"]), item["name"]
        url = item["request"]["url"]
        declared = {v["key"]: v["value"] for v in url.get("variable", [])}
        needed = {part[1:] for part in url["path"] if part.startswith(":")}
        assert needed == set(declared) and all(declared.values()), item["name"]
        if "body" in item["request"]:
            raw = item["request"]["body"]["raw"]
            if "{{" not in raw:
                assert isinstance(json.loads(raw), dict), item["name"]


def test_login_stores_tokens_and_bodies_come_from_the_schemas(client):
    collection = client.get("/api/postman.json").get_json()
    by_name = {
        item["request"]["url"]["raw"] + " " + item["request"]["method"]: item
        for _f, item in _requests(collection)
    }
    login = by_name["{{baseUrl}}/api/auth/login POST"]
    assert "pm.environment.set('accessToken'" in "\n".join(login["event"][0]["script"]["exec"])
    body = json.loads(login["request"]["body"]["raw"])
    assert set(body) == {"email", "password"} and "@" in body["email"]
    course = json.loads(by_name["{{baseUrl}}/api/courses POST"]["request"]["body"]["raw"])
    assert {"title", "domain"} <= set(course)
    lesson = by_name["{{baseUrl}}/api/courses/:course_id GET"]["request"]["url"]["variable"]
    assert lesson == [{"key": "course_id", "value": "1", "description": "integer (example)"}]


def test_google_sign_in_is_with_auth_not_in_a_read_only_folder(client):
    collection = client.get("/api/postman.json").get_json()
    folders = {folder["name"]: folder for folder in collection["item"]}
    assert not any("read" in name.lower() for name in folders)
    google = [i for f, i in _requests(collection) if "/oauth/google/" in i["request"]["url"]["raw"]]
    assert google and all(f == "auth" for f, i in _requests(collection) if i in google)
