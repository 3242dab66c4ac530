"""Reports end to end with the real Celery worker: request, poll, download, parse CSV and XLSX, compare with
the database row by row; progress on a large export; expiry by the beat task."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, timedelta

import openpyxl
import pytest
from sqlalchemy import func, select, text

from common.accounts.models import User
from common.db import db, utcnow
from common.jobs.models import Job
from common.learning.models import Enrollment
from common.payments.models import Payment
from common.storage import get_storage
from tests.factories import auth_headers, enroll, make_course, make_user

pytestmark = pytest.mark.slow
EVIL = '=HYPERLINK("http://evil.example","click")'


def _ts(value):
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def _safe(value):
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _run(client, admin, body, timeout=60) -> dict:
    h = auth_headers(admin)
    resp = client.post("/api/admin/reports", json=body, headers=h)
    assert resp.status_code == 202
    job_id = resp.get_json()["job_id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/admin/reports/{job_id}", headers=h).get_json()
        if status["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    assert status["status"] == "succeeded", status
    return status


def _download(client, admin, status) -> bytes:
    resp = client.get(status["result_url"], headers=auth_headers(admin))
    assert resp.status_code == 200
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=") and status["params"]["format"] in disposition
    return resp.data


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def _xlsx_rows(data: bytes) -> list[list[str]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def _expected_enrollments() -> list[list[str]]:
    rows = []
    for e in db.session.execute(select(Enrollment).order_by(Enrollment.id)).scalars():
        user = db.session.get(User, e.user_id)
        payment = db.session.get(Payment, e.payment_id) if e.payment_id else None
        rows.append(
            [
                str(v)
                for v in (
                    e.id,
                    _ts(e.enrolled_at),
                    e.status,
                    e.source,
                    _ts(e.completed_at),
                    _ts(e.revoked_at),
                    user.id,
                    user.email,
                    _safe(user.name),
                    e.course.id,
                    _safe(e.course.title),
                    e.course.domain,
                    payment.payment_id if payment else "",
                    payment.amount if payment else "",
                    payment.currency if payment else "",
                )
            ]
        )
    return rows


def _data():
    teacher = make_user("instructor", name="Teacher")
    paid = make_course(teacher, price=49_900, title="-Paid course")
    free = make_course(teacher, title="Free course")
    evil, plain = make_user(name=EVIL), make_user(name="Plain Learner")
    enroll(evil, free)
    e = enroll(plain, free)
    e.completed_at = utcnow() - timedelta(days=1)
    payment = Payment(
        user_id=plain.id,
        course_id=paid.id,
        course_title=paid.title,
        amount=49_900,
        currency="INR",
        receipt="rcpt_x",
        order_id="order_x",
        payment_id="pay_x",
        status="paid",
        paid_at=utcnow(),
    )
    db.session.add(payment)
    db.session.flush()
    paid_enrollment = enroll(plain, paid, source="payment")
    paid_enrollment.payment_id = payment.id
    db.session.commit()


@pytest.mark.parametrize("fmt, parse", [("csv", _csv_rows), ("xlsx", _xlsx_rows)])
def test_enrollments_export_matches_the_database(client, celery_worker, fmt, parse):
    admin = make_user("admin")
    _data()
    status = _run(client, admin, {"type": "enrollments", "format": fmt})
    assert status["progress"] == 100 and status["result"]["rows"] == 3
    rows = parse(_download(client, admin, status))
    assert rows[0] == [
        "enrollment_id",
        "enrolled_at",
        "status",
        "source",
        "completed_at",
        "revoked_at",
        "user_id",
        "user_email",
        "user_name",
        "course_id",
        "course_title",
        "course_domain",
        "payment_id",
        "amount",
        "currency",
    ]
    assert rows[1:] == _expected_enrollments()
    assert ["'" + EVIL in row for row in rows].count(True) == 1
    if fmt == "xlsx":  # no cell of the workbook is a formula
        sheet = openpyxl.load_workbook(io.BytesIO(_download(client, admin, status))).active
        assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_date_range_filters_rows(client, celery_worker):
    admin = make_user("admin")
    _data()
    first = db.session.execute(select(Enrollment).order_by(Enrollment.id)).scalars().first()
    first.enrolled_at = utcnow() - timedelta(days=10)
    db.session.commit()
    since = (utcnow() - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status = _run(client, admin, {"type": "enrollments", "format": "csv", "from": since})
    rows = _csv_rows(_download(client, admin, status))
    assert [r[0] for r in rows[1:]] == [str(r[0]) for r in _expected_enrollments()[1:]]


def test_large_users_export_reports_progress_and_matches(client, celery_worker):
    admin = make_user("admin")
    db.session.execute(
        text(
            "INSERT INTO users (email, name, role, status, token_version, xp_total, email_verified, "
            "created_at, updated_at) "
            "SELECT 'bulk' || g || '@example.com', "
            "CASE WHEN g % 1000 = 0 THEN '@evil ' || g ELSE 'Bulk ' || g END, "
            "'student', 'active', 1, g % 97, false, now() - g * interval '1 minute', now() "
            "FROM generate_series(1, 12000) g"
        )
    )
    db.session.commit()
    status = _run(client, admin, {"type": "users", "format": "csv"})
    assert status["result"]["rows"] == 12_001
    rows = _csv_rows(_download(client, admin, status))
    expected = [
        [
            str(v)
            for v in (
                u.id,
                _ts(u.created_at),
                u.email,
                _safe(u.name),
                u.role,
                u.status,
                u.xp_total,
                0,
                _ts(u.last_login_at),
            )
        ]
        for u in db.session.execute(select(User).order_by(User.id)).scalars()
    ]
    assert rows[1:] == expected
    assert sum(1 for r in rows if r[3].startswith("'@evil")) == 12


def test_payments_and_courses_exports(client, celery_worker):
    admin = make_user("admin")
    _data()
    payments = _csv_rows(_download(client, admin, _run(client, admin, {"type": "payments", "format": "csv"})))
    (payment,) = db.session.execute(select(Payment)).scalars()
    assert payments[1] == [
        str(v)
        for v in (
            payment.id,
            _ts(payment.created_at),
            "paid",
            49_900,
            "INR",
            payment.user_id,
            db.session.get(User, payment.user_id).email,
            payment.course_id,
            "'-Paid course",
            "order_x",
            "pay_x",
            _ts(payment.paid_at),
            "",
            "",
        )
    ]
    courses = _xlsx_rows(_download(client, admin, _run(client, admin, {"type": "courses", "format": "xlsx"})))
    assert courses[0][:3] == ["course_id", "created_at", "title"]
    by_title = {row[2]: row for row in courses[1:]}
    assert by_title["'-Paid course"][9:11] == ["1", "49900"] and by_title["Free course"][9:11] == ["2", "0"]


def test_expiry_removes_the_file_and_marks_the_job(client, celery_worker, app):
    admin = make_user("admin")
    status = _run(client, admin, {"type": "courses", "format": "csv"})
    job = db.session.get(Job, status["job_id"])
    key = job.result["storage_key"]
    assert get_storage().exists(key)
    job.finished_at = utcnow() - timedelta(days=app.config["REPORT_RETENTION_DAYS"], minutes=1)
    db.session.commit()
    fresh = _run(client, admin, {"type": "users", "format": "csv"})
    app.extensions["celery"].tasks["reports.expire"].delay()
    deadline = time.monotonic() + 20
    while (
        db.session.get(Job, job.id, populate_existing=True).status != "expired"
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == "expired" and db.session.get(Job, job.id).result_url is None
    assert not get_storage().exists(key)
    assert client.get(f"/api/admin/reports/{job.id}/download", headers=auth_headers(admin)).status_code == 409
    assert db.session.get(Job, fresh["job_id"]).status == "succeeded"  # a recent report stays
    assert (
        db.session.execute(select(func.count()).select_from(Job).where(Job.status == "expired")).scalar() == 1
    )
