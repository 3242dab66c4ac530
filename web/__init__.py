"""The HTTP edge: app factory, extensions, error envelope and auth decorators."""

from web.app import create_app  # noqa: F401
