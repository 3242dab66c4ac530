"""Celery tasks of the certificates domain."""

from __future__ import annotations

import random

from celery import shared_task

from common.certificates import service
from common.certificates.renderer import RenderError
from common.storage import StorageError

MAX_RETRIES = 4
BACKOFF_BASE_SECONDS = 5
BACKOFF_CAP_SECONDS = 300


def backoff_seconds(retries: int) -> float:
    """Exponential backoff with jitter: ~5 s, 10 s, 20 s, 40 s ... capped."""
    delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**retries)
    return delay * random.uniform(0.8, 1.2)


# acks_late: a worker that dies mid-render gets the task redelivered; rendering is idempotent
# (an already-ready certificate is skipped, the file is overwritten under the same key).
@shared_task(
    name="certificates.render", bind=True, acks_late=True, max_retries=MAX_RETRIES, ignore_result=True
)
def render(self, certificate_id: int, job_id: str | None = None) -> None:
    """Render one certificate's PDF into storage; transient failures retry with backoff."""
    # In-process (embedded default) a retry would run at once in the request's thread: try once;
    # a failed certificate can be re-triggered by an admin.
    final = self.request.is_eager or self.request.retries >= self.max_retries
    try:
        service.render_certificate(certificate_id=certificate_id, final_attempt=final, job_id=job_id)
    except (RenderError, StorageError) as exc:
        if final:
            raise
        raise self.retry(exc=exc, countdown=backoff_seconds(self.request.retries))


@shared_task(name="certificates.sweep", ignore_result=True)
def sweep() -> int:
    """Re-queue certificates stuck in `pending` (beat runs this every 10 minutes)."""
    return service.requeue_stuck()
