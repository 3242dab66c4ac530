"""The forum list on the embedded default (SQLite keeps no foreign keys: a deleted course or module
leaves its posts behind), where the readers' rule and the module check must not rely on them."""

from __future__ import annotations

from tests.embedded import run_on_sqlite

SQLITE_FORUM = r"""
from sqlalchemy import delete

from web.app import create_app
from common.catalog.models import Course, Module
from common.db import db
from common.errors import NotFound, ValidationError
from common.forum import service
from tests.factories import enroll, make_course, make_user

app = create_app()
with app.app_context():
    db.create_all()
    course = make_course(make_user("instructor"), modules=2)
    student, admin = make_user("student"), make_user("admin")
    enroll(student, course)
    course_id, module_id = course.id, course.modules[0].id
    service.create_post(
        course_id=course_id, user_id=student.id, role="student", module_id=module_id,
        title="Why joins?", body="How do joins work?",
    )
    listed = lambda who, role, **args: service.list_posts(course_id=course_id, user_id=who, role=role, **args)
    assert listed(student.id, "student", module_id=module_id).total == 1

    db.session.execute(delete(Module).where(Module.id == module_id))  # the posts stay behind
    db.session.commit()
    try:
        listed(student.id, "student", module_id=module_id)
    except ValidationError as exc:
        assert "module_id" in str(exc.errors), exc.errors
    else:
        raise AssertionError("a deleted module's posts were listed")

    db.session.execute(delete(Course).where(Course.id == course_id))
    db.session.commit()
    for who, role in ((admin.id, "admin"), (student.id, "student")):
        try:
            listed(who, role)
        except NotFound:
            pass
        else:
            raise AssertionError(f"a deleted course's posts were listed to {role}")
    print("ok")
"""


def test_posts_left_behind_by_deleted_content_are_never_listed(tmp_path):
    result = run_on_sqlite(SQLITE_FORUM, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
