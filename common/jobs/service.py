"""Background job records: create, claim (with a lease), progress and finish with conditional updates.

A job's message reaching the broker is recorded (`enqueued_at`); a job whose message never got there
(broker down) stays `queued` and `sweep_unsent` sends it again later. Claims are real: only one caller
moves a job to `running`, and a `running` job is taken over only once its lease ran out (its worker
died); a task that schedules a retry gives the job back first (`release`).
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from flask import current_app
from kombu.exceptions import KombuError
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from common.db import db, get_owned, utcnow
from common.errors import ServiceUnavailable
from common.jobs.models import Job

log = logging.getLogger(__name__)
# What a publish raises when the broker cannot be reached (kombu wraps redis/amqp connection errors).
BROKER_ERRORS = (KombuError, OSError)


class QueueUnavailable(ServiceUnavailable):
    """The job is recorded but its message could not reach the broker; jobs.sweep sends it later."""


def create_job(
    *,
    kind: str,
    owner_id: int | None,
    params: dict | None = None,
    dedup_key: str | None = None,
    task_name: str | None = None,
) -> tuple[Job, bool]:
    """Insert a queued job; with a dedup_key an existing job is returned instead.

    Returns (job, created). Commits.
    """
    if dedup_key:
        existing = db.session.execute(db.select(Job).where(Job.dedup_key == dedup_key)).scalar_one_or_none()
        if existing is not None:
            return existing, False
    job = Job(
        id=str(uuid.uuid4()),
        kind=kind,
        owner_id=owner_id,
        params=params,
        dedup_key=dedup_key,
        task_name=task_name,
    )
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


def send(job: Job) -> bool:
    """Send the job's task message and record that it reached the broker; False if the broker is down."""
    job_id, task_name = job.id, job.task_name
    db.session.execute(update(Job).where(Job.id == job_id).values(send_attempts=Job.send_attempts + 1))
    db.session.commit()
    try:
        enqueue(task_name, job_id)
    except BROKER_ERRORS as exc:
        db.session.rollback()
        log.warning("job %s (%s) not sent, the broker is unreachable: %s", job_id, task_name, exc)
        return False
    db.session.execute(update(Job).where(Job.id == job_id).values(enqueued_at=utcnow()))
    db.session.commit()
    return True


def start_job(
    *,
    kind: str,
    task_name: str,
    owner_id: int | None,
    params: dict | None = None,
    dedup_key: str | None = None,
) -> Job:
    """Create the job row, commit, then send `task_name(job_id)`; deduplicated by dedup_key.

    A deduplicated job that is still `queued` and never reached the broker is sent again. If the
    broker is unreachable: QueueUnavailable (503); the job stays queued for jobs.sweep.
    """
    job, created = create_job(
        kind=kind, owner_id=owner_id, params=params, dedup_key=dedup_key, task_name=task_name
    )
    if created or (job.status == "queued" and job.enqueued_at is None and job.task_name):
        if not send(job):
            raise QueueUnavailable(
                "The task queue is unavailable; your request is recorded and will be "
                "processed when it is back. Try again shortly.",
                errors={"job_id": job.id},
                headers={"Retry-After": "30"},
            )
    db.session.refresh(job)
    return job


def sweep_unsent(*, older_than_seconds: int | None = None, limit: int = 500) -> int:
    """Send again the queued jobs whose message never reached the broker (or was lost); returns how many.

    A duplicate message is harmless: only one task claims the job. A job that could not be sent
    JOB_MAX_SEND_ATTEMPTS times is failed. Stops at the first send the broker refuses.
    """
    age = current_app.config["JOB_SWEEP_AFTER_SECONDS"] if older_than_seconds is None else older_than_seconds
    now = utcnow()
    cutoff = now - timedelta(seconds=age)
    # A message that did reach the broker but no task ever claimed it within a lease is presumed lost.
    lost = now - timedelta(seconds=current_app.config["JOB_LEASE_SECONDS"])
    stuck = (
        db.session.execute(
            select(Job)
            .where(
                Job.status == "queued",
                Job.task_name.is_not(None),
                Job.created_at <= cutoff,
                or_(Job.enqueued_at.is_(None), and_(Job.enqueued_at < lost, Job.started_at.is_(None))),
            )
            .order_by(Job.created_at)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    db.session.commit()
    bound = current_app.config["JOB_MAX_SEND_ATTEMPTS"]
    sent = 0
    for job in stuck:
        if job.send_attempts >= bound:
            fail(job.id, f"gave up: the task could not be queued after {job.send_attempts} attempts")
            continue
        if not send(job):
            break
        sent += 1
    if sent:
        log.info("jobs swept: %s re-sent", sent)
    return sent


def claim(job_id: str) -> bool:
    """Move the job to running under a lease; True only for the one caller that changed the row.

    Claimable from `queued`, or from `running` once the lease expired (the worker holding it died
    and its acks_late task was redelivered). The lease outlasts the task's hard time limit.
    """
    now = utcnow()
    lease = now + timedelta(seconds=current_app.config["JOB_LEASE_SECONDS"])
    result = db.session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            or_(
                Job.status == "queued",
                and_(
                    Job.status == "running", or_(Job.lease_expires_at.is_(None), Job.lease_expires_at <= now)
                ),
            ),
        )
        .values(status="running", started_at=now, lease_expires_at=lease)
    )
    db.session.commit()
    return result.rowcount == 1


def release(job_id: str) -> None:
    """Give up a claim before the task retries later: the job stays `running` (a retry is coming) with
    its lease ended, so the retry (or a redelivery) can claim it again."""
    db.session.rollback()
    db.session.execute(
        update(Job).where(Job.id == job_id, Job.status == "running").values(lease_expires_at=utcnow())
    )
    db.session.commit()


def set_progress(job_id: str, progress: int) -> None:
    """Record progress; also renews the claim's lease (a heartbeat for long jobs)."""
    lease = utcnow() + timedelta(seconds=current_app.config["JOB_LEASE_SECONDS"])
    db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running")
        .values(progress=max(0, min(100, progress)), lease_expires_at=lease)
    )
    db.session.commit()


def succeed(job_id: str, *, result: dict | None = None, result_url: str | None = None) -> None:
    db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(("queued", "running")))
        .values(
            status="succeeded",
            progress=100,
            result=result,
            result_url=result_url,
            error=None,
            finished_at=utcnow(),
            lease_expires_at=None,
        )
    )
    db.session.commit()


def fail(job_id: str, error: str) -> None:
    db.session.rollback()
    db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(("queued", "running")))
        .values(status="failed", error=error[:2000], finished_at=utcnow(), lease_expires_at=None)
    )
    db.session.commit()


def get_job(job_id: str) -> Job | None:
    return db.session.get(Job, job_id)


def get_job_for(*, job_id: str, user_id: int, is_admin: bool) -> Job:
    """The job if the caller owns it or is an admin; NotFound otherwise (never leak existence)."""
    return get_owned(Job, job_id, user_id=user_id, is_admin=is_admin, owner="owner_id")
