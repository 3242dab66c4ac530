"""Celery tasks of the certificates domain."""

from __future__ import annotations

import logging

from celery import shared_task

from common.certificates import service
from common.certificates.renderer import RenderError
from common.storage import StorageError

log = logging.getLogger(__name__)
# Celery retries a failed render (what the task re-raises): exponential backoff from 5 s, full
# jitter, at most 5 minutes apart, 4 times; then the task fails and the certificate is `failed`.
RETRY_POLICY = {
    "autoretry_for": (RenderError, StorageError),
    "max_retries": 4,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
}


# acks_late: a worker that dies mid-render gets the task redelivered; rendering is idempotent
# (an already-ready certificate is skipped, the file is overwritten under the same key).
@shared_task(name="certificates.render", bind=True, acks_late=True, ignore_result=True, **RETRY_POLICY)
def render(self, certificate_id: int, job_id: str | None = None) -> None:
    """Render one certificate's PDF into storage; transient failures retry with backoff."""
    # In-process (embedded default) a retry would run at once in the request's thread: try once;
    # a failed certificate can be re-triggered by an admin.
    eager = self.request.is_eager
    final = eager or self.request.retries >= self.max_retries
    try:
        service.render_certificate(certificate_id=certificate_id, final_attempt=final, job_id=job_id)
    except (RenderError, StorageError) as exc:
        if not eager:
            raise
        # The failure is recorded on the certificate (and its job): nothing to retry in-process.
        log.warning("certificate %s not rendered in-process: %s", certificate_id, exc)


@shared_task(name="certificates.sweep", ignore_result=True)
def sweep() -> int:
    """Re-queue certificates stuck in `pending` (beat runs this every 10 minutes)."""
    return service.requeue_stuck()
