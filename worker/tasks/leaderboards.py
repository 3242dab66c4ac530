"""Celery tasks of the gamification domain: the scheduled leaderboard rebuild."""

from __future__ import annotations

from celery import shared_task
from sqlalchemy.exc import OperationalError

from common.gamification import service


# The database briefly unreachable: Celery tries again after 30 s, 60 s, then 120 s.
@shared_task(
    name="leaderboards.rebuild",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    max_retries=3,
    retry_backoff=30,
    retry_backoff_max=120,
    retry_jitter=False,
)
def rebuild() -> dict:
    """Recompute the weekly and monthly boards (beat runs this every 10 minutes)."""
    return service.rebuild_leaderboards()
