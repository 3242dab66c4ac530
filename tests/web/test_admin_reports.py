"""Report requests without a worker running: validation, dedup while queued, 409 before ready, listing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from common.admin.reports import neutralise
from common.db import db
from common.jobs.models import Job
from tests.factories import auth_headers, make_user


@pytest.mark.parametrize(
    "body, field",
    [
        ({"format": "csv"}, "type"),
        ({"type": "grades", "format": "csv"}, "type"),
        ({"type": "users"}, "format"),
        ({"type": "users", "format": "pdf"}, "format"),
        ({"type": "users", "format": "csv", "from": "yesterday"}, "from"),
        (
            {"type": "users", "format": "csv", "from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            "from",
        ),
    ],
)
def test_bad_requests_are_422(client, admin, body, field):
    resp = client.post("/api/admin/reports", json=body, headers=auth_headers(admin))
    assert resp.status_code == 422 and field in resp.get_json()["errors"]["json"]
    assert db.session.execute(select(Job)).first() is None


def test_a_repeated_request_while_queued_returns_the_same_job(app, client, admin):
    body = {"type": "payments", "format": "xlsx", "from": "2026-01-01T00:00:00Z"}
    first = client.post("/api/admin/reports", json=body, headers=auth_headers(admin))
    assert first.status_code == 202
    job_id = first.get_json()["job_id"]
    assert first.headers["Location"] == f"{app.config['PUBLIC_BASE_URL']}/api/jobs/{job_id}"
    again = client.post("/api/admin/reports", json=body, headers=auth_headers(admin))
    assert again.status_code == 202 and again.get_json()["job_id"] == job_id
    other = client.post("/api/admin/reports", json={**body, "format": "csv"}, headers=auth_headers(admin))
    assert other.get_json()["job_id"] != job_id
    # Another admin's identical request is their own report.
    mine = client.post("/api/admin/reports", json=body, headers=auth_headers(make_user("admin")))
    assert mine.get_json()["job_id"] != job_id
    assert len(db.session.execute(select(Job)).all()) == 3
    # Once the first job is finished, asking again makes a new report.
    db.session.get(Job, job_id).status = "failed"
    db.session.commit()
    assert (
        client.post("/api/admin/reports", json=body, headers=auth_headers(admin)).get_json()["job_id"]
        != job_id
    )


def test_status_list_and_download_before_ready(client, admin):
    h = auth_headers(admin)
    a = client.post("/api/admin/reports", json={"type": "users", "format": "csv"}, headers=h).get_json()[
        "job_id"
    ]
    b = client.post("/api/admin/reports", json={"type": "courses", "format": "csv"}, headers=h).get_json()[
        "job_id"
    ]
    status = client.get(f"/api/admin/reports/{a}", headers=h).get_json()
    assert (status["status"], status["kind"], status["params"]["type"]) == ("queued", "report", "users")
    listed = client.get("/api/admin/reports", headers=h).get_json()
    assert [r["job_id"] for r in listed["items"]] == [b, a]
    resp = client.get(f"/api/admin/reports/{a}/download", headers=h)
    assert resp.status_code == 409 and resp.get_json()["code"] == 409
    assert client.get("/api/admin/reports/nope", headers=h).status_code == 404
    assert client.get("/api/admin/reports/nope/download", headers=h).status_code == 404


def test_a_job_of_another_kind_is_not_a_report(client, admin):
    job = Job(id="11111111-1111-1111-1111-111111111111", kind="payment_refund", owner_id=admin.id)
    db.session.add(job)
    db.session.commit()
    assert client.get(f"/api/admin/reports/{job.id}", headers=auth_headers(admin)).status_code == 404


@pytest.mark.parametrize(
    "value, expected",
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("plain", "plain"),
        (-5, -5),
        ("", ""),
    ],
)
def test_formula_cells_are_neutralised(value, expected):
    assert neutralise(value) == expected


def test_a_report_that_cannot_be_built_fails_its_job(app, admin):
    from common.jobs.service import create_job

    job, _ = create_job(kind="report", owner_id=admin.id, params={"type": "grades", "format": "csv"})
    outcome = app.extensions["celery"].tasks["reports.build"].apply(args=[job.id])
    assert outcome.failed()
    db.session.expire_all()
    failed = db.session.get(Job, job.id)
    assert failed.status == "failed" and failed.error.startswith("KeyError") and failed.result_url is None
    # A job that is no longer claimable is left alone.
    assert app.extensions["celery"].tasks["reports.build"].apply(args=[job.id]).successful()
    assert db.session.get(Job, job.id, populate_existing=True).status == "failed"
