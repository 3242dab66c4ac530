"""Celery tasks, one module per domain; each task loads ids and calls one service function."""
