"""Builds a Celery app bound to a Flask app: every task runs inside its application context.

It lives in common/ because both edges need it: web/app.py builds it (to queue tasks, or run them
in-process) and worker/celery_app.py serves it. It imports neither edge: the task modules are named
in celeryconfig.py (`include`) and Celery imports them.
"""

from __future__ import annotations

from celery import Celery, Task
from celery import current_app as current_celery
from celery.signals import worker_process_init

from common.db import db


def make_celery(app) -> Celery:
    class FlaskTask(Task):
        abstract = True

        def __call__(self, *args, **kwargs):
            if self.request.is_eager:
                # In-process (embedded default): share the caller's app context and session.
                with app.app_context():
                    return self.run(*args, **kwargs)
            with app.app_context():
                try:
                    return self.run(*args, **kwargs)
                finally:
                    db.session.remove()

    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.config_from_object("celeryconfig")
    celery.conf.update(
        broker_url=app.config["CELERY_BROKER_URL"] or "memory://",
        # Celery lets $CELERY_BROKER_URL override broker_url; the read/write urls keep this app's own.
        broker_read_url=app.config["CELERY_BROKER_URL"] or "memory://",
        broker_write_url=app.config["CELERY_BROKER_URL"] or "memory://",
        task_always_eager=app.config["CELERY_TASK_ALWAYS_EAGER"],
        task_eager_propagates=False,
        # An acks_late task whose worker died comes back after the visibility timeout (configurable so
        # the worker-kill test can keep it short).
        broker_transport_options={
            **celery.conf.broker_transport_options,
            "visibility_timeout": app.config.get("CELERY_VISIBILITY_TIMEOUT", 900),
            # A hung broker costs seconds, not forever, per publish.
            "socket_timeout": app.config.get("CELERY_BROKER_SOCKET_TIMEOUT", 2.0),
            "socket_connect_timeout": app.config.get("REDIS_CONNECT_TIMEOUT", 0.5),
        },
    )
    celery.set_default()
    # The task modules of celeryconfig's `include`, imported now: the web process looks tasks up by
    # name to queue them (and runs them in-process in the embedded default).
    celery.loader.import_default_modules()
    celery.flask_app = app
    app.extensions["celery"] = celery
    return celery


@worker_process_init.connect
def _dispose_engine_after_fork(**_kwargs):
    """A forked worker process must not reuse the parent's pooled connections."""
    flask_app = getattr(current_celery, "flask_app", None)
    if flask_app is not None:
        with flask_app.app_context():
            db.engine.dispose(close=False)
