"""Celery tasks of the payments domain."""
