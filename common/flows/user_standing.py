"""Suspension and role changes, and what they mean beyond accounts: the leaderboards drop the user."""

from __future__ import annotations

from common.accounts import service as accounts
from common.accounts.models import User
from common.gamification.service import remove_user_from_boards


def set_suspended(*, actor_id: int, user_id: int, suspended: bool, reason: str | None = None) -> User:
    """Suspend or reinstate a user (accounts rules); a suspended user leaves the live boards at once.

    A reinstated user comes back at the next leaderboard rebuild (their XP events were never lost).
    """
    user = accounts.set_suspended(actor_id=actor_id, user_id=user_id, suspended=suspended, reason=reason)
    if suspended:
        remove_user_from_boards(user.id)
    return user


def change_role(*, actor_id: int, user_id: int, role: str) -> User:
    """Promote or demote a user (accounts rules); admins are never ranked, so new admins leave the boards."""
    user = accounts.promote(actor_id=actor_id, user_id=user_id, role=role)
    if role == "admin":
        remove_user_from_boards(user.id)
    return user
