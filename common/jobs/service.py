"""Background job records: create, claim, progress and finish with conditional updates."""
from __future__ import annotations

import uuid

from flask import current_app
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from common.db import db, utcnow
from common.errors import not_found
from common.jobs.models import Job


def create_job(*, kind: str, owner_id: int | None, params: dict | None = None,
               dedup_key: str | None = None) -> tuple[Job, bool]:
    """Insert a queued job; with a dedup_key an existing job is returned instead.

    Returns (job, created). Commits.
    """
    if dedup_key:
        existing = db.session.execute(db.select(Job).where(Job.dedup_key == dedup_key)).scalar_one_or_none()
        if existing is not None:
            return existing, False
    job = Job(id=str(uuid.uuid4()), kind=kind, owner_id=owner_id, params=params, dedup_key=dedup_key)
    db.session.add(job)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return db.session.execute(db.select(Job).where(Job.dedup_key == dedup_key)).scalar_one(), False
    return job, True


def enqueue(task_name: str, *args, countdown: float | None = None) -> None:
    """Send a task by name after the caller committed (runs in-process on the embedded default)."""
    task = current_app.extensions["celery"].tasks[task_name]
    task.apply_async(args=args, countdown=countdown)


def start_job(*, kind: str, task_name: str, owner_id: int | None, params: dict | None = None,
              dedup_key: str | None = None) -> Job:
    """Create the job row, commit, then enqueue `task_name(job_id)`; deduplicated by dedup_key."""
    job, created = create_job(kind=kind, owner_id=owner_id, params=params, dedup_key=dedup_key)
    if created:
        enqueue(task_name, job.id)
        db.session.refresh(job)
    return job


def claim(job_id: str) -> bool:
    """Move a queued job to running; True only for the one caller that changed the row.

    A job left `running` by a worker that died is re-claimable by the redelivered task.
    """
    result = db.session.execute(
        update(Job).where(Job.id == job_id, Job.status.in_(("queued", "running")))
        .values(status="running", started_at=utcnow())
    )
    db.session.commit()
    return result.rowcount == 1


def set_progress(job_id: str, progress: int) -> None:
    db.session.execute(update(Job).where(Job.id == job_id, Job.status == "running")
                       .values(progress=max(0, min(100, progress))))
    db.session.commit()


def succeed(job_id: str, *, result: dict | None = None, result_url: str | None = None) -> None:
    db.session.execute(
        update(Job).where(Job.id == job_id, Job.status.in_(("queued", "running")))
        .values(status="succeeded", progress=100, result=result, result_url=result_url,
                error=None, finished_at=utcnow())
    )
    db.session.commit()


def fail(job_id: str, error: str) -> None:
    db.session.rollback()
    db.session.execute(
        update(Job).where(Job.id == job_id, Job.status.in_(("queued", "running")))
        .values(status="failed", error=error[:2000], finished_at=utcnow())
    )
    db.session.commit()


def get_job(job_id: str) -> Job | None:
    return db.session.get(Job, job_id)


def get_job_for(*, job_id: str, user_id: int, is_admin: bool) -> Job:
    """The job if the caller owns it or is an admin; NotFound otherwise (never leak existence)."""
    job = db.session.get(Job, job_id)
    if job is None or not (is_admin or job.owner_id == user_id):
        raise not_found("Job", job_id)
    return job
