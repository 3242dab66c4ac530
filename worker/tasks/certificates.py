"""Celery tasks of the certificates domain."""
