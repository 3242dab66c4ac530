"""Payments API, GET /payments/history and /payments/{id}: own payments only, newest first."""

from __future__ import annotations

from tests.factories import auth_headers, make_course, make_user
from tests.standins.razorpay_fixtures import *  # noqa: F401,F403
from tests.standins.razorpay_fixtures import PRICE
from tests.web.payments_api import order


# --- history and one payment ---------------------------------------------------------------------
def test_history_is_own_newest_first_and_paginated(client, razorpay, student, instructor, eager_tasks):
    courses = [make_course(instructor, price=PRICE + i * 100) for i in range(3)]
    for c in courses:
        order(client, student, c.id)
    other = make_user("student")
    order(client, other, courses[0].id)
    response = client.get("/api/payments/history?per_page=2", headers=auth_headers(student))
    assert response.status_code == 200
    page = response.get_json()
    assert page["total"] == 3 and page["pages"] == 2 and len(page["items"]) == 2
    assert [i["course_id"] for i in page["items"]] == [courses[2].id, courses[1].id]
    assert 'rel="next"' in response.headers["Link"]
    item = page["items"][0]
    assert set(item) >= {
        "id",
        "user_id",
        "course_id",
        "amount",
        "currency",
        "order_id",
        "payment_id",
        "status",
        "created_at",
    }
    assert item["created_at"].endswith("Z") and item["user_id"] == student.id


def test_history_roles(client, instructor, admin):
    assert client.get("/api/payments/history").status_code == 401
    assert client.get("/api/payments/history", headers=auth_headers(instructor)).status_code == 403
    assert client.get("/api/payments/history", headers=auth_headers(admin)).status_code == 403
    assert (
        client.get("/api/payments/history?per_page=101", headers=auth_headers(make_user())).status_code == 422
    )


def test_one_payment_for_its_owner_and_admins_only(client, razorpay, student, admin, course):
    payment_id = order(client, student, course.id).get_json()["id"]
    url = f"/api/payments/{payment_id}"
    assert client.get(url, headers=auth_headers(student)).get_json()["status"] == "created"
    assert client.get(url, headers=auth_headers(admin)).status_code == 200
    assert client.get(url, headers=auth_headers(make_user("student"))).status_code == 404
    assert client.get(url, headers=auth_headers(make_user("instructor"))).status_code == 404
    assert client.get("/api/payments/999999", headers=auth_headers(admin)).status_code == 404
    assert client.get(url).status_code == 401
