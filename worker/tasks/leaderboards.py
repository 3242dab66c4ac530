"""Celery tasks of the gamification domain: the scheduled leaderboard rebuild."""

from __future__ import annotations

from celery import shared_task
from sqlalchemy.exc import OperationalError

from common.gamification import service


@shared_task(name="leaderboards.rebuild", bind=True, max_retries=3, ignore_result=True)
def rebuild(self) -> dict:
    """Recompute the weekly and monthly boards (beat runs this every 10 minutes)."""
    try:
        return service.rebuild_leaderboards()
    except OperationalError as exc:  # the database is briefly unreachable: try again later
        raise self.retry(exc=exc, countdown=30 * (self.request.retries + 1))
