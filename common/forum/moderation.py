"""Flags on posts and replies, automatic hiding, and the admins' review queue.

Flags and resolutions run with the flagged item's row locked, so the count of open flags that
triggers the automatic hide is exact under concurrency. Hidden content stays in the database.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, select, update

from common.accounts.models import User
from common.admin import audit
from common.catalog.access import is_enrolled
from common.catalog.models import Course
from common.db import db, insert_ignore, utcnow
from common.errors import Conflict, Forbidden, InvalidState, not_found
from common.forum.access import visible_post, visible_reply
from common.forum.models import FLAG_REASONS, Flag, Post, Reply
from common.forum.service import invalid
from common.pagination import Page, paginate

NOTE_MAX = 500
ACTIONS = ("hide", "dismiss")
DEFAULT_AUTO_HIDE_FLAGS = 3


def auto_hide_threshold() -> int:
    return current_app.config.get("FORUM_AUTO_HIDE_FLAGS", DEFAULT_AUTO_HIDE_FLAGS)


def _set_hidden(item, hidden: bool) -> None:
    """Hide or restore a post or reply; a reply's post counts visible replies only."""
    if item.hidden == hidden:
        return
    item.hidden = hidden
    if isinstance(item, Reply):
        delta = -1 if hidden else 1
        db.session.execute(
            update(Post).where(Post.id == item.post_id).values(reply_count=Post.reply_count + delta)
        )


def _clean(reason, note) -> tuple[str, str | None]:
    if reason not in FLAG_REASONS:
        raise invalid("reason", "Must be one of: " + ", ".join(FLAG_REASONS) + ".")
    if note is not None:
        if not isinstance(note, str) or len(note.strip()) > NOTE_MAX:
            raise invalid("note", f"At most {NOTE_MAX} characters.")
        note = note.strip() or None
    return reason, note


def _flag(item, course: Course, field_name: str, user_id: int, reason, note) -> Flag:
    if not is_enrolled(user_id, course.id):
        raise Forbidden("Only enrolled students flag content")
    if item.user_id == user_id:
        raise Conflict("You cannot flag your own content")
    reason, note = _clean(reason, note)
    if not insert_ignore(
        Flag,
        user_id=user_id,
        reason=reason,
        note=note,
        status="open",
        created_at=utcnow(),
        **{field_name: item.id},
    ):
        raise Conflict("You have already flagged this")
    open_flags = db.session.execute(
        select(func.count())
        .select_from(Flag)
        .where(getattr(Flag, field_name) == item.id, Flag.status == "open")
    ).scalar_one()
    if open_flags >= auto_hide_threshold():
        _set_hidden(item, True)
    flag = db.session.execute(
        select(Flag).where(getattr(Flag, field_name) == item.id, Flag.user_id == user_id)
    ).scalar_one()
    db.session.commit()
    return flag


def flag_post(*, post_id: int, user_id: int, role: str | None, reason, note=None) -> Flag:
    """An enrolled student flags a post (once); enough open flags hide it pending review."""
    post, course = visible_post(post_id, user_id, role, lock=True)
    return _flag(post, course, "post_id", user_id, reason, note)


def flag_reply(*, reply_id: int, user_id: int, role: str | None, reason, note=None) -> Flag:
    """An enrolled student flags a reply (once); enough open flags hide it pending review."""
    reply, _post, course = visible_reply(reply_id, user_id, role, lock=True)
    return _flag(reply, course, "reply_id", user_id, reason, note)


@dataclass
class FlaggedItem:
    """One flagged post or reply with its flags, for the review queue."""

    object_type: str
    item: Post | Reply
    course: Course
    post_title: str
    flags: list = field(default_factory=list)
    flaggers: dict = field(default_factory=dict)

    @property
    def reasons(self) -> dict:
        return dict(Counter(flag.reason for flag in self.flags))


def list_flags(*, status: str = "open", page: int = 1, per_page: int = 20) -> Page:
    """Flagged items with `status` flags, most flagged first (items are FlaggedItem); 6 queries."""
    grouped = (
        select(Flag.post_id, Flag.reply_id, func.count().label("n"), func.max(Flag.created_at).label("last"))
        .where(Flag.status == status)
        .group_by(Flag.post_id, Flag.reply_id)
        .order_by(func.count().desc(), func.max(Flag.created_at).desc(), Flag.post_id, Flag.reply_id)
    )
    result = paginate(grouped, page=page, per_page=per_page, scalars=False)
    post_ids = {row.post_id for row in result.items if row.post_id is not None}
    reply_ids = {row.reply_id for row in result.items if row.reply_id is not None}
    replies = {r.id: r for r in db.session.execute(select(Reply).where(Reply.id.in_(reply_ids))).scalars()}
    post_ids |= {r.post_id for r in replies.values()}
    posts = {p.id: p for p in db.session.execute(select(Post).where(Post.id.in_(post_ids))).scalars()}
    courses = {
        c.id: c
        for c in db.session.execute(
            select(Course).where(Course.id.in_({p.course_id for p in posts.values()}))
        ).scalars()
    }
    items, by_key = [], {}
    for row in result.items:
        if row.post_id is not None:
            item, post, kind = posts[row.post_id], posts[row.post_id], "post"
        else:
            item, kind = replies[row.reply_id], "reply"
            post = posts[item.post_id]
        flagged = FlaggedItem(kind, item, courses[post.course_id], post.title)
        by_key[(row.post_id, row.reply_id)] = flagged
        items.append(flagged)
    flags = db.session.execute(
        select(Flag, User.name)
        .join(User, User.id == Flag.user_id)
        .where(Flag.status == status, (Flag.post_id.in_(post_ids) | Flag.reply_id.in_(reply_ids)))
        .order_by(Flag.created_at, Flag.id)
    ).all()
    for flag, name in flags:
        flagged = by_key.get((flag.post_id, flag.reply_id))
        if flagged is not None:
            flagged.flags.append(flag)
            flagged.flaggers[flag.user_id] = name
    result.items = items
    return result


@dataclass
class Resolution:
    action: str
    object_type: str
    object_id: int
    hidden: bool
    flag_ids: list


def resolve_flag(*, flag_id: int, admin_id: int, action: str) -> Resolution:
    """Hide or dismiss: acts on every open flag of the flag's item; recorded in the audit log."""
    if action not in ACTIONS:
        raise invalid("action", "Must be hide or dismiss.")
    flag = db.session.get(Flag, flag_id)
    if flag is None:
        raise not_found("Flag", flag_id)
    if flag.post_id is not None:
        kind, model, column, item_id = "post", Post, Flag.post_id, flag.post_id
    else:
        kind, model, column, item_id = "reply", Reply, Flag.reply_id, flag.reply_id
    item = db.session.execute(
        select(model)
        .where(model.id == item_id)
        .with_for_update(of=model)
        .execution_options(populate_existing=True)
    ).scalar_one()
    open_flags = (
        db.session.execute(
            select(Flag)
            .where(column == item_id, Flag.status == "open")
            .execution_options(populate_existing=True)
        )
        .scalars()
        .all()
    )
    if flag.id not in {f.id for f in open_flags}:
        raise InvalidState(f"Flag {flag_id} is already resolved")
    now = utcnow()
    for open_flag in open_flags:
        open_flag.status = "hidden" if action == "hide" else "dismissed"
        open_flag.resolved_by_id, open_flag.resolved_at = admin_id, now
    _set_hidden(item, action == "hide")
    post = item if kind == "post" else db.session.get(Post, item.post_id)
    flag_ids = [f.id for f in open_flags]
    audit.record(
        actor_id=admin_id,
        action=f"forum.flags.{action}",
        object_type=kind,
        object_id=item_id,
        detail={
            "course_id": post.course_id,
            "post_id": post.id,
            "flag_ids": flag_ids,
            "reasons": dict(Counter(f.reason for f in open_flags)),
        },
    )
    db.session.commit()
    return Resolution(action, kind, item_id, item.hidden, flag_ids)
