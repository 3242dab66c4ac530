"""Celery tasks of the leaderboards domain."""
