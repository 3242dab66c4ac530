"""Exported reports: requested as jobs, streamed from a server-side cursor to CSV or XLSX, stored, expired."""

from __future__ import annotations

import csv
import logging
import os
import tempfile
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from common.accounts.models import User
from common.catalog.models import Course
from common.db import db, utcnow
from common.errors import InvalidState, ValidationError, not_found
from common.jobs import service as jobs
from common.jobs.models import Job
from common.learning.models import Enrollment
from common.pagination import Page, paginate
from common.payments.models import Payment
from common.storage import StorageError, get_storage

log = logging.getLogger(__name__)

KIND = "report"
TASK = "reports.build"
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BATCH = 2000  # rows fetched from the server-side cursor at a time
PROGRESS_EVERY = 5000  # rows between progress updates on the job
# OWASP CSV injection: a cell starting with one of these is read as a formula by spreadsheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _iso(value):
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return value


def neutralise(value):
    """A cell value safe to open in a spreadsheet: text that would start a formula gets a leading `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


# ---- what each report contains ------------------------------------------------------------
def _enrollments(from_, to):
    stmt = (
        select(
            Enrollment.id,
            Enrollment.enrolled_at,
            Enrollment.status,
            Enrollment.source,
            Enrollment.completed_at,
            Enrollment.revoked_at,
            User.id,
            User.email,
            User.name,
            Course.id,
            Course.title,
            Course.domain,
            Payment.payment_id,
            Payment.amount,
            Payment.currency,
        )
        .join(User, User.id == Enrollment.user_id)
        .join(Course, Course.id == Enrollment.course_id)
        .outerjoin(Payment, Payment.id == Enrollment.payment_id)
        .order_by(Enrollment.id)
    )
    return stmt, Enrollment.enrolled_at


def _payments(from_, to):
    stmt = (
        select(
            Payment.id,
            Payment.created_at,
            Payment.status,
            Payment.amount,
            Payment.currency,
            Payment.user_id,
            User.email,
            Payment.course_id,
            Payment.course_title,
            Payment.order_id,
            Payment.payment_id,
            Payment.paid_at,
            Payment.refunded_at,
            Payment.refund_id,
        )
        .join(User, User.id == Payment.user_id)
        .order_by(Payment.id)
    )
    return stmt, Payment.created_at


def _users(from_, to):
    counts = (
        select(Enrollment.user_id, func.count().label("n"))
        .where(Enrollment.status == "active")
        .group_by(Enrollment.user_id)
        .subquery()
    )
    stmt = (
        select(
            User.id,
            User.created_at,
            User.email,
            User.name,
            User.role,
            User.status,
            User.xp_total,
            func.coalesce(counts.c.n, 0),
            User.last_login_at,
        )
        .outerjoin(counts, counts.c.user_id == User.id)
        .order_by(User.id)
    )
    return stmt, User.created_at


def _courses(from_, to):
    active = (
        select(Enrollment.course_id, func.count().label("n"))
        .where(Enrollment.status == "active")
        .group_by(Enrollment.course_id)
        .subquery()
    )
    revenue = (
        select(Payment.course_id, func.sum(Payment.amount).label("net"))
        .where(Payment.status == "paid")
        .group_by(Payment.course_id)
        .subquery()
    )
    stmt = (
        select(
            Course.id,
            Course.created_at,
            Course.title,
            Course.domain,
            Course.status,
            Course.instructor_id,
            User.email,
            Course.price,
            Course.currency,
            func.coalesce(active.c.n, 0),
            func.coalesce(revenue.c.net, 0),
            Course.submitted_at,
            Course.approved_at,
        )
        .join(User, User.id == Course.instructor_id)
        .outerjoin(active, active.c.course_id == Course.id)
        .outerjoin(revenue, revenue.c.course_id == Course.id)
        .order_by(Course.id)
    )
    return stmt, Course.created_at


# Stable column names, in file order (documented in the README). Money is in the smallest unit.
REPORTS = {
    "enrollments": (
        _enrollments,
        [
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
        ],
    ),
    "payments": (
        _payments,
        [
            "id",
            "created_at",
            "status",
            "amount",
            "currency",
            "user_id",
            "user_email",
            "course_id",
            "course_title",
            "order_id",
            "payment_id",
            "paid_at",
            "refunded_at",
            "refund_id",
        ],
    ),
    "users": (
        _users,
        [
            "user_id",
            "created_at",
            "email",
            "name",
            "role",
            "status",
            "xp_total",
            "active_enrollments",
            "last_login_at",
        ],
    ),
    "courses": (
        _courses,
        [
            "course_id",
            "created_at",
            "title",
            "domain",
            "status",
            "instructor_id",
            "instructor_email",
            "price",
            "currency",
            "active_enrollments",
            "net_revenue",
            "submitted_at",
            "approved_at",
        ],
    ),
}


def report_query(report_type: str, from_: datetime | None, to: datetime | None):
    """(select, column names) of a report; `from_` inclusive, `to` exclusive on its date column."""
    build, columns = REPORTS[report_type]
    stmt, date_column = build(from_, to)
    if from_ is not None:
        stmt = stmt.where(date_column >= from_)
    if to is not None:
        stmt = stmt.where(date_column < to)
    return stmt, columns


# ---- requesting and listing ---------------------------------------------------------------
def request_report(
    *, actor_id: int, report_type: str, fmt: str, from_: datetime | None = None, to: datetime | None = None
) -> Job:
    """Start an export job; the same request by the same admin while one is queued or running returns it."""
    if report_type not in REPORTS:
        raise ValidationError(
            "Validation failed", {"json": {"type": [f"Must be one of: {', '.join(REPORTS)}."]}}
        )
    if fmt not in FORMATS:
        raise ValidationError("Validation failed", {"json": {"format": ["Must be csv or xlsx."]}})
    if from_ is not None and to is not None and from_ >= to:
        raise ValidationError("Validation failed", {"json": {"from": ["Must be before `to`."]}})
    params = {"type": report_type, "format": fmt, "from": _iso(from_) or None, "to": _iso(to) or None}
    dedup_key = f"report:{actor_id}:{report_type}:{fmt}:{params['from']}:{params['to']}"
    # A finished job gives its key up, so asking again later makes a new report.
    db.session.execute(
        update(Job)
        .where(Job.dedup_key == dedup_key, Job.status.not_in(("queued", "running")))
        .values(dedup_key=None)
    )
    db.session.commit()
    return jobs.start_job(kind=KIND, task_name=TASK, owner_id=actor_id, params=params, dedup_key=dedup_key)


def list_reports(*, page: int = 1, per_page: int = 20) -> Page:
    """Every admin's report jobs, newest first."""
    stmt = select(Job).where(Job.kind == KIND).order_by(Job.created_at.desc(), Job.id.desc())
    return paginate(stmt, page=page, per_page=per_page)


def get_report(job_id: str) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or job.kind != KIND:
        raise not_found("Report", job_id)
    return job


def open_download(job_id: str) -> tuple[Job, object]:
    """(job, file object) of a finished report; InvalidState (409) until it is ready or once expired."""
    job = get_report(job_id)
    if job.status != "succeeded" or not job.result:
        raise InvalidState(f"Report {job_id} is {job.status}; the file is available once it has succeeded")
    return job, get_storage().open(job.result["storage_key"])


def filename(job: Job) -> str:
    return f"{job.params['type']}-{job.created_at.strftime('%Y%m%dT%H%M%SZ')}.{job.params['format']}"


# ---- building -----------------------------------------------------------------------------
class _CsvWriter:
    def __init__(self, path):
        self.fh = open(path, "w", newline="", encoding="utf-8")
        self.writer = csv.writer(self.fh)

    def write(self, row):
        self.writer.writerow(row)

    def close(self):
        self.fh.close()


class _XlsxWriter:
    """openpyxl's write-only workbook: rows go to a temporary file as they come, memory stays flat."""

    def __init__(self, path):
        from openpyxl import Workbook

        self.path = path
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet("report")

    def write(self, row):
        self.sheet.append(row)

    def close(self):
        self.book.save(self.path)


def _cells(row):
    return [neutralise(_iso(value)) for value in row]


def build_report(*, job_id: str) -> Job | None:
    """Run a claimed report job: stream its rows into a file, store it, finish the job with its URL."""
    if not jobs.claim(job_id):
        return None
    job = db.session.get(Job, job_id)
    params = job.params
    from_ = datetime.fromisoformat(params["from"].replace("Z", "+00:00")) if params.get("from") else None
    to = datetime.fromisoformat(params["to"].replace("Z", "+00:00")) if params.get("to") else None
    stmt, columns = report_query(params["type"], from_, to)
    db.session.commit()
    fmt = params["format"]
    fd, path = tempfile.mkstemp(prefix="report-", suffix="." + fmt)
    os.close(fd)
    try:
        # Its own connection: the job's progress commits on the session must not close the cursor.
        with db.engine.connect() as conn:
            total = conn.execute(
                select(func.count()).select_from(stmt.order_by(None).subquery())
            ).scalar_one()
            writer = _CsvWriter(path) if fmt == "csv" else _XlsxWriter(path)
            writer.write(columns)
            rows, next_mark = 0, PROGRESS_EVERY
            result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(stmt)
            for partition in result.partitions():
                for row in partition:
                    writer.write(_cells(row))
                rows += len(partition)
                if rows >= next_mark:
                    jobs.set_progress(job_id, min(99, rows * 100 // max(total, 1)))
                    next_mark += PROGRESS_EVERY
            writer.close()
        key = f"reports/{job_id}.{fmt}"
        get_storage().put_file(key, path, content_type=FORMATS[fmt])
    finally:
        os.unlink(path)
    jobs.succeed(
        job_id,
        result={"rows": rows, "storage_key": key, "format": fmt, "type": params["type"]},
        result_url=f"/api/admin/reports/{job_id}/download",
    )
    log.info("report %s: %s rows of %s as %s", job_id, rows, params["type"], fmt)
    return db.session.get(Job, job_id)


def expire_reports(*, now: datetime | None = None) -> int:
    """Remove the files of reports finished more than REPORT_RETENTION_DAYS ago and mark them expired."""
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["REPORT_RETENTION_DAYS"])
    due = db.session.execute(
        select(Job.id, Job.result)
        .where(Job.kind == KIND, Job.status == "succeeded", Job.finished_at < cutoff)
        .limit(1000)
    ).all()
    db.session.rollback()
    expired = 0
    for job_id, result in due:
        try:
            if result and result.get("storage_key"):
                get_storage().delete(result["storage_key"])
        except StorageError as exc:  # try again on the next run
            log.warning("report %s: file not removed: %s", job_id, exc)
            continue
        changed = db.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "succeeded")
            .values(status="expired", result_url=None)
        ).rowcount
        db.session.commit()
        expired += changed
    return expired
