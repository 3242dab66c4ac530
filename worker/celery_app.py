"""Entry point for `celery -A worker.celery_app ...`: a Flask app and its bound Celery app."""

from web.app import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
app = celery_app
