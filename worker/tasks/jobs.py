"""Job task helpers shared by the domain task modules, and the sweep of jobs that never reached the broker."""

from __future__ import annotations

from celery import shared_task

from common.jobs import service


@shared_task(name="jobs.sweep", ignore_result=True)
def sweep(older_than_seconds: int | None = None) -> int:
    """Send again queued jobs whose message never reached the broker (beat runs this every minute)."""
    return service.sweep_unsent(older_than_seconds=older_than_seconds)
