"""Celery settings shared by every worker, beat and Flower (broker and eager mode come from env)."""

from celery.schedules import crontab
from kombu import Queue

# The task modules (worker/tasks/<domain>.py); common/celery_factory.py has Celery import them.
include = [
    "worker.tasks.jobs",
    "worker.tasks.payments",
    "worker.tasks.certificates",
    "worker.tasks.leaderboards",
    "worker.tasks.reports",
    "worker.tasks.accounts",
]
task_default_queue = "default"
task_queues = (
    Queue("default"),
    Queue("payments"),
    Queue("certificates"),
    Queue("reports"),
)
# Route by the task name's domain prefix: "payments.fulfil_order" goes to the payments queue.
task_routes = {
    "payments.*": {"queue": "payments"},
    "certificates.*": {"queue": "certificates"},
    "reports.*": {"queue": "reports"},
}
task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
# Job status lives in PostgreSQL (the jobs table); Celery results are not needed.
task_ignore_result = True
result_backend = None
task_acks_late = False  # opted into per task, only where the task is idempotent
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
task_time_limit = 300
task_soft_time_limit = 240
broker_connection_retry_on_startup = True
broker_transport_options = {"visibility_timeout": 900}
# Fail fast when the broker is unreachable: a web request answers 503 (the job stays queued for
# jobs.sweep) within about a second instead of hanging on publish retries.
broker_connection_timeout = 2
task_publish_retry_policy = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
timezone = "UTC"
enable_utc = True
beat_schedule = {
    "leaderboards-rebuild": {"task": "leaderboards.rebuild", "schedule": crontab(minute="*/10")},
    "payments-reconcile": {"task": "payments.reconcile", "schedule": crontab(minute="*/5")},
    "certificates-sweep": {"task": "certificates.sweep", "schedule": crontab(minute="*/10")},
    "accounts-purge-token-families": {
        "task": "accounts.purge_token_families",
        "schedule": crontab(minute=17, hour=3),
    },
    "reports-expire": {"task": "reports.expire", "schedule": crontab(minute=17)},
    "jobs-sweep": {"task": "jobs.sweep", "schedule": crontab(minute="*")},
}
