"""Courses, modules and lessons: the public catalogue, outlines and instructor authoring."""

from __future__ import annotations

import json

from flask import current_app
from flask_smorest import Blueprint

from common.catalog import service
from common.pagination import Page
from web.auth import auth_required, current_role, current_user_id
from web.hot import hot_response
from web.pagination import link_header, page_response
from web.resources.catalog.schemas import (
    CatalogueArgs,
    CourseCreateSchema,
    CourseManageSchema,
    CourseOutlineSchema,
    CoursePageSchema,
    CourseSchema,
    CourseUpdateSchema,
    DomainListSchema,
    InstructorCoursePageSchema,
    InstructorCoursesArgs,
    LessonCreateSchema,
    LessonListSchema,
    LessonSchema,
    LessonUpdateSchema,
    ModuleCreateSchema,
    ModuleListSchema,
    ModuleSchema,
    ModuleUpdateSchema,
    full_lessons,
    full_outline,
    public_lessons,
    public_outline,
)

blp = Blueprint("catalog", __name__, url_prefix="/api", description="Courses, modules and lessons")

_course_list = CourseSchema(many=True)
_NOT_VISIBLE = "Unknown id, or a course the caller may not see"


def _json(body: bytes | str, headers: dict | None = None):
    return current_app.response_class(body, mimetype="application/json", headers=headers)


def _with_link(body: bytes):
    """A page response with its Link header. The body ends with the page meta
    (`"page":..,"per_page":..,"total":..,"pages":..}`): read just that tail, not the whole page."""
    meta = json.loads(b"{" + body[body.rindex(b'"page":') :])
    page = Page(items=[], page=meta["page"], per_page=meta["per_page"], total=meta["total"])
    return _json(body, {"Link": link_header(page)})


# ---- catalogue -----------------------------------------------------------------------------
# Cached reads answer the stored JSON body (the cache policy lives in common/catalog/service.py);
# tests/web/test_hand_built_bodies.py proves each body equal to the declared schema's dump.


@blp.route("/courses", methods=["GET"])
@hot_response
@blp.arguments(CatalogueArgs, location="query")
@blp.response(200, CoursePageSchema)
def list_courses(args):
    """The public catalogue: approved courses, filtered, sorted and paginated."""

    def build():
        page = service.search_catalogue(**args)
        return page_response(page, _course_list.dump(page.items))[0]

    return _with_link(service.catalogue_body("list", args).get_or_build(build))


@blp.route("/courses/domains", methods=["GET"])
@hot_response
@blp.response(200, DomainListSchema)
def list_domains():
    """Domains that have approved courses, with their course counts."""

    def build():
        items = service.domain_counts()
        return {"items": items, "total": len(items)}

    return _json(service.catalogue_body("domains").get_or_build(build))


@blp.route("/courses/<int:course_id>", methods=["GET"])
@hot_response
@auth_required(optional=True)
@blp.response(200, CourseOutlineSchema)
@blp.alt_response(404, description=_NOT_VISIBLE)
def get_course(course_id):
    """A course with its ordered outline; lesson URLs only for enrolled students, the owner and admins."""
    user_id, role = current_user_id(), current_role()
    entry, full = service.outline_body(course_id=course_id, user_id=user_id, role=role)

    def build():
        dumper = full_outline if full else public_outline
        body = dumper.dump(service.course_outline(course_id=course_id, user_id=user_id, role=role))
        body["content_access"] = full
        return body

    return _json(entry.get_or_build(build))


# ---- authoring -----------------------------------------------------------------------------


@blp.route("/courses", methods=["POST"])
@auth_required("instructor")
@blp.arguments(CourseCreateSchema)
@blp.response(201, CourseManageSchema)
def create_course(data):
    """Create a course (it starts as a draft)."""
    return service.create_course(instructor_id=current_user_id(), **data)


@blp.route("/courses/<int:course_id>", methods=["PATCH"])
@auth_required("instructor")
@blp.arguments(CourseUpdateSchema)
@blp.response(200, CourseManageSchema)
@blp.alt_response(404, description=_NOT_VISIBLE)
def update_course(data, course_id):
    """Update your course; an approved course stays public."""
    return service.update_course(course_id=course_id, user_id=current_user_id(), role=current_role(), **data)


@blp.route("/courses/<int:course_id>", methods=["DELETE"])
@auth_required("instructor")
@blp.response(204)
@blp.alt_response(404, description=_NOT_VISIBLE)
@blp.alt_response(409, description="Students are enrolled (admins may still delete)")
def delete_course(course_id):
    """Delete your course with its modules, lessons, quizzes and forum."""
    service.delete_course(course_id=course_id, user_id=current_user_id(), role=current_role())


@blp.route("/courses/<int:course_id>/submit", methods=["POST"])
@auth_required("instructor")
@blp.response(200, CourseManageSchema)
@blp.alt_response(404, description=_NOT_VISIBLE)
@blp.alt_response(409, description="Not draft/rejected, or no module with a lesson yet")
def submit_course(course_id):
    """Send a draft or rejected course for review."""
    return service.submit_course(course_id=course_id, user_id=current_user_id(), role=current_role())


@blp.route("/instructor/courses", methods=["GET"])
@auth_required("instructor")
@blp.arguments(InstructorCoursesArgs, location="query")
@blp.response(200, InstructorCoursePageSchema)
def instructor_courses(args):
    """Your courses in every status, with active enrollments and paid revenue."""
    page = service.instructor_courses(instructor_id=current_user_id(), **args)
    items = []
    for course, enrollments, revenue in page.items:
        # Plain (unmapped) attributes carry the aggregates to the response schema.
        course.enrollments, course.revenue = enrollments, int(revenue or 0)
        items.append(course)
    return page_response(page, items)


# ---- modules -------------------------------------------------------------------------------


@blp.route("/courses/<int:course_id>/modules", methods=["GET"])
@auth_required(optional=True)
@blp.response(200, ModuleListSchema)
@blp.alt_response(404, description=_NOT_VISIBLE)
def list_modules(course_id):
    """The course's modules in order."""
    modules = service.list_modules(course_id=course_id, user_id=current_user_id(), role=current_role())
    return {"items": modules, "total": len(modules)}


@blp.route("/courses/<int:course_id>/modules", methods=["POST"])
@auth_required("instructor")
@blp.arguments(ModuleCreateSchema)
@blp.response(201, ModuleSchema)
@blp.alt_response(404, description=_NOT_VISIBLE)
def create_module(data, course_id):
    """Add a module to your course at a position (default: last)."""
    return service.create_module(course_id=course_id, user_id=current_user_id(), role=current_role(), **data)


@blp.route("/modules/<int:module_id>", methods=["PATCH"])
@auth_required("instructor")
@blp.arguments(ModuleUpdateSchema)
@blp.response(200, ModuleSchema)
@blp.alt_response(404, description=_NOT_VISIBLE)
def update_module(data, module_id):
    """Rename or move a module (positions stay dense)."""
    return service.update_module(module_id=module_id, user_id=current_user_id(), role=current_role(), **data)


@blp.route("/modules/<int:module_id>", methods=["DELETE"])
@auth_required("instructor")
@blp.response(204)
@blp.alt_response(404, description=_NOT_VISIBLE)
def delete_module(module_id):
    """Delete a module with its lessons and quizzes."""
    service.delete_module(module_id=module_id, user_id=current_user_id(), role=current_role())


# ---- lessons -------------------------------------------------------------------------------


@blp.route("/modules/<int:module_id>/lessons", methods=["GET"])
@auth_required(optional=True)
@blp.response(200, LessonListSchema)
@blp.alt_response(404, description=_NOT_VISIBLE)
def list_lessons(module_id):
    """The module's lessons in order (URLs for enrolled students, the owner and admins)."""
    lessons, access = service.list_lessons(
        module_id=module_id, user_id=current_user_id(), role=current_role()
    )
    items = (full_lessons if access else public_lessons).dump(lessons)
    return {"items": items, "total": len(items), "content_access": access}


@blp.route("/modules/<int:module_id>/lessons", methods=["POST"])
@auth_required("instructor")
@blp.arguments(LessonCreateSchema)
@blp.response(201, LessonSchema)
@blp.alt_response(404, description=_NOT_VISIBLE)
def create_lesson(data, module_id):
    """Add a lesson to your module at a position (default: last); URLs must be http(s)."""
    return service.create_lesson(module_id=module_id, user_id=current_user_id(), role=current_role(), **data)


@blp.route("/lessons/<int:lesson_id>", methods=["GET"])
@auth_required()
@blp.response(200, LessonSchema)
@blp.alt_response(404, description=_NOT_VISIBLE)
@blp.alt_response(403, description="Not enrolled")
def get_lesson(lesson_id):
    """A lesson with its URLs: enrolled students, the owner and admins."""
    return service.get_lesson(lesson_id=lesson_id, user_id=current_user_id(), role=current_role())


@blp.route("/lessons/<int:lesson_id>", methods=["PATCH"])
@auth_required("instructor")
@blp.arguments(LessonUpdateSchema)
@blp.response(200, LessonSchema)
@blp.alt_response(404, description=_NOT_VISIBLE)
def update_lesson(data, lesson_id):
    """Update or move a lesson of your course."""
    return service.update_lesson(lesson_id=lesson_id, user_id=current_user_id(), role=current_role(), **data)


@blp.route("/lessons/<int:lesson_id>", methods=["DELETE"])
@auth_required("instructor")
@blp.response(204)
@blp.alt_response(404, description=_NOT_VISIBLE)
def delete_lesson(lesson_id):
    """Delete a lesson of your course."""
    service.delete_lesson(lesson_id=lesson_id, user_id=current_user_id(), role=current_role())
