"""Celery tasks of the admin reports: build an export, expire old files."""

from __future__ import annotations

from celery import shared_task

from common.admin import reports
from common.jobs import service as jobs


@shared_task(name="reports.build", bind=True, ignore_result=True, time_limit=3600, soft_time_limit=3300)
def build(self, job_id: str) -> None:
    """Stream one report into a CSV/XLSX file in storage and finish its job."""
    try:
        reports.build_report(job_id=job_id)
    except Exception as exc:
        jobs.fail(job_id, f"{type(exc).__name__}: {exc}")
        raise


@shared_task(name="reports.expire", ignore_result=True)
def expire() -> int:
    """Delete report files past REPORT_RETENTION_DAYS and mark their jobs expired (beat, hourly)."""
    return reports.expire_reports()
