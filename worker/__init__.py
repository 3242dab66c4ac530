"""The Celery edge: the app bound to Flask, thin tasks per domain, the beat schedule."""
