"""Account rules: registration, login, profile, OAuth linking, suspension and roles."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from common.accounts import tokens
from common.accounts.models import ROLES, User
from common.accounts.passwords import hash_password, needs_rehash, verify_password
from common.admin import audit
from common.db import db, utcnow
from common.errors import Conflict, Forbidden, Unauthorized, ValidationError, not_found

SELF_SERVICE_ROLES = ("student", "instructor")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def get_user(user_id: int) -> User:
    """The user with this id, or NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise not_found("User", user_id)
    return user


def register(*, email: str, password: str, name: str, role: str = "student") -> User:
    """Create an account; only student and instructor may be chosen by the caller."""
    if role not in SELF_SERVICE_ROLES:
        raise ValidationError("Invalid role", errors={"json": {"role": ["Must be student or instructor."]}})
    user = User(
        email=normalise_email(email), name=name.strip(), role=role, password_hash=hash_password(password)
    )
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict("An account with this email already exists") from exc
    return user


def authenticate(*, email: str, password: str) -> User:
    """The user for these credentials; Unauthorized if wrong, Forbidden if suspended."""
    user = db.session.execute(
        db.select(User).where(User.email == normalise_email(email))
    ).scalar_one_or_none()
    if not verify_password(user.password_hash if user else None, password):
        raise Unauthorized("Invalid email or password")
    if user.status == "suspended":
        raise Forbidden("This account is suspended")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def active_user(user_id: int) -> User:
    """The user behind a valid token; Unauthorized if gone, Forbidden if suspended."""
    user = db.session.get(User, user_id)
    if user is None:
        raise Unauthorized("Account no longer exists")
    if user.status == "suspended":
        raise Forbidden("This account is suspended")
    return user


def update_profile(
    *, user_id: int, name: str | None = None, password: str | None = None, current_password: str | None = None
) -> tuple[User, bool]:
    """Change name and/or password; returns (user, password_changed).

    A password change needs the current password (unless the account has none yet, as after a
    Google sign-up) and revokes every token issued before it.
    """
    user = active_user(user_id)
    changed_password = False
    if name is not None:
        user.name = name.strip()
    if password is not None:
        if user.password_hash is not None and not (
            current_password and verify_password(user.password_hash, current_password)
        ):
            raise ValidationError(
                "Current password is incorrect",
                errors={"json": {"current_password": ["Incorrect password."]}},
            )
        user.password_hash = hash_password(password)
        user.token_version += 1
        changed_password = True
    db.session.commit()
    if changed_password:
        tokens.publish_version(user)
    return user, changed_password


# Accounts Google sign-in never links to by email.
STAFF_ROLES = ("instructor", "admin")


def login_with_google(*, sub: str, email: str | None, email_verified: bool, name: str | None) -> User:
    """Find or create the account for a Google identity.

    Links to an existing account only by a *verified* email, and only to a student account: an
    instructor's or admin's account is never linked automatically (Forbidden), so a Google identity
    cannot become a staff session without the account's password. Otherwise creates a student.
    """
    user = db.session.execute(db.select(User).where(User.google_sub == sub)).scalar_one_or_none()
    if user is None:
        if not email or not email_verified:
            raise Forbidden("Google did not confirm a verified email for this account")
        email = normalise_email(email)
        user = db.session.execute(db.select(User).where(User.email == email)).scalar_one_or_none()
        if user is not None and user.role in STAFF_ROLES:
            db.session.rollback()
            raise Forbidden("This account is an instructor or admin account: sign in with its password")
        if user is None:
            user = User(
                email=email, name=(name or email.split("@")[0])[:120], role="student", email_verified=True
            )
            db.session.add(user)
        user.google_sub = sub
        user.email_verified = True
    if user.status == "suspended":
        db.session.rollback()
        raise Forbidden("This account is suspended")
    user.last_login_at = utcnow()
    try:
        db.session.commit()
    except IntegrityError:
        # A concurrent first sign-in created it: use that row.
        db.session.rollback()
        user = db.session.execute(db.select(User).where(User.google_sub == sub)).scalar_one()
    return user


def create_admin(*, email: str, password: str, name: str = "Administrator") -> User:
    """Create an admin, or promote and reset the password of an existing account."""
    email = normalise_email(email)
    user = db.session.execute(db.select(User).where(User.email == email)).scalar_one_or_none()
    if user is None:
        user = User(email=email, name=name)
        db.session.add(user)
    user.role = "admin"
    user.status = "active"
    user.password_hash = hash_password(password)
    user.token_version = (user.token_version or 1) + 1
    db.session.commit()
    return user


def _lock_for_admin_change(user_id: int) -> User:
    """The target user, locked; if they are an admin, every active admin is locked too.

    Changes that could remove an active admin lock all active admin rows in id order (always the
    same order, so two admins acting on each other never deadlock): the second of two racing admins
    waits, then re-reads the rows as the first left them.
    """
    user = get_user(user_id)
    if user.role == "admin":
        db.session.execute(
            select(User.id)
            .where(User.role == "admin", User.status == "active")
            .order_by(User.id)
            .with_for_update()
        )
    db.session.execute(select(User.id).where(User.id == user_id).with_for_update())
    db.session.refresh(user)
    return user


def _refuse_last_admin(user: User) -> None:
    """Conflict if `user` is the only active admin left (call with the admin rows locked)."""
    if user.role != "admin" or user.status != "active":
        return
    others = db.session.execute(
        select(func.count())
        .select_from(User)
        .where(User.role == "admin", User.status == "active", User.id != user.id)
    ).scalar_one()
    if others == 0:
        db.session.rollback()
        raise Conflict("The last active admin cannot be suspended or demoted")


def _state(user: User) -> dict:
    return {"role": user.role, "status": user.status}


def set_suspended(*, actor_id: int, user_id: int, suspended: bool, reason: str | None = None) -> User:
    """Suspend (revoking every token at once) or reinstate a user; their content stays.

    Conflict for the actor themselves and for the last active admin (even with two admins racing).
    """
    if actor_id == user_id:
        raise Conflict("Admins cannot suspend themselves")
    user = _lock_for_admin_change(user_id)
    if suspended:
        _refuse_last_admin(user)
    before = _state(user)
    user.status = "suspended" if suspended else "active"
    user.suspended_reason = reason if suspended else None
    user.token_version += 1
    audit.record(
        actor_id=actor_id,
        action="user.suspend" if suspended else "user.unsuspend",
        object_type="user",
        object_id=user.id,
        detail={"reason": reason} if reason else None,
        before=before,
        after=_state(user),
    )
    db.session.commit()
    tokens.publish_version(user)
    return user


def promote(*, actor_id: int, user_id: int, role: str) -> User:
    """Change a user's role (promote or demote); their tokens are revoked so the new role applies at once.

    Conflict for the actor themselves and for demoting the last active admin.
    """
    if role not in ROLES:
        raise ValidationError(
            "Invalid role", errors={"json": {"role": [f"Must be one of {', '.join(ROLES)}."]}}
        )
    if actor_id == user_id:
        raise Conflict("Admins cannot change their own role")
    user = _lock_for_admin_change(user_id)
    if role != "admin":
        _refuse_last_admin(user)
    before = _state(user)
    user.role = role
    user.token_version += 1
    audit.record(
        actor_id=actor_id,
        action="user.promote",
        object_type="user",
        object_id=user.id,
        detail={"from": before["role"], "to": role},
        before=before,
        after=_state(user),
    )
    db.session.commit()
    tokens.publish_version(user)
    return user
