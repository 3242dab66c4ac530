"""Signed Open Badges 3.0 credentials for certificates and badges, their keys and status list."""
