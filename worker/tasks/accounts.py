"""Celery tasks of the accounts domain: the daily purge of expired token families."""

from __future__ import annotations

from celery import shared_task

from common.accounts import tokens


@shared_task(name="accounts.purge_token_families", ignore_result=True)
def purge_token_families() -> int:
    """Delete token families whose refresh tokens have all expired (beat runs this daily)."""
    return tokens.purge_expired_families()
