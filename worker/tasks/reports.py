"""Celery tasks of the reports domain."""
