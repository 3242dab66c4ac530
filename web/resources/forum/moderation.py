"""The admins' moderation queue: flagged items with their content, and resolving them."""

from __future__ import annotations

from common.forum import moderation
from web.auth import auth_required, current_user_id
from web.pagination import page_response
from web.resources.forum.blueprint import blp
from web.resources.forum.schemas import FlaggedItemPageSchema, FlagListArgs, ResolutionSchema, ResolveSchema


def _flagged_body(flagged: moderation.FlaggedItem) -> dict:
    item = flagged.item
    post_id = item.id if flagged.object_type == "post" else item.post_id
    role = "instructor" if item.user_id == flagged.course.instructor_id else item.user.role
    return {
        "flag_id": flagged.flags[0].id if flagged.flags else None,
        "object_type": flagged.object_type,
        "object_id": item.id,
        "content": {
            "id": item.id,
            "post_id": post_id,
            "title": flagged.post_title,
            "body": item.body,
            "hidden": item.hidden,
            "created_at": item.created_at,
        },
        "author": {"id": item.user.id, "name": item.user.name, "role": role},
        "course": {"id": flagged.course.id, "title": flagged.course.title},
        "flag_count": len(flagged.flags),
        "reasons": flagged.reasons,
        "flags": [
            {
                "id": f.id,
                "post_id": f.post_id,
                "reply_id": f.reply_id,
                "reason": f.reason,
                "note": f.note,
                "status": f.status,
                "created_at": f.created_at,
                "user": {"id": f.user_id, "name": flagged.flaggers.get(f.user_id)},
            }
            for f in flagged.flags
        ],
    }


@blp.route("/admin/flags", methods=["GET"])
@auth_required("admin")
@blp.arguments(FlagListArgs, location="query")
@blp.response(200, FlaggedItemPageSchema)
def list_flags(args):
    """Flagged posts and replies (status=open by default), most flagged first, with their content."""
    page = moderation.list_flags(**args)
    return page_response(page, [_flagged_body(flagged) for flagged in page.items])


@blp.route("/admin/flags/<int:flag_id>/resolve", methods=["POST"])
@auth_required("admin")
@blp.arguments(ResolveSchema)
@blp.response(200, ResolutionSchema)
@blp.alt_response(404, description="Unknown flag")
@blp.alt_response(409, description="The flag is already resolved")
def resolve_flag(data, flag_id):
    """Hide the flagged content or dismiss the flags: acts on every open flag of that item (audited)."""
    r = moderation.resolve_flag(flag_id=flag_id, admin_id=current_user_id(), **data)
    return {
        "action": r.action,
        "object_type": r.object_type,
        "object_id": r.object_id,
        "hidden": r.hidden,
        "flag_ids": r.flag_ids,
    }
