"""Demo data for `flask seed`: instructors, students, an admin, courses with content and activity."""

from __future__ import annotations

import hashlib
import random
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from common.accounts.models import User
from common.accounts.passwords import hash_password
from common.catalog import service as catalog
from common.catalog.models import Course, Lesson, Module
from common.db import db, utcnow
from common.forum.seed import seed_forum
from common.gamification import service as gamification
from common.learning.models import Enrollment, LessonProgress
from common.payments.models import Payment
from common.quizzes.models import Quiz, QuizResult

DOMAINS = ["web-development", "data-science", "design", "business", "cloud"]
TOPICS = {
    "web-development": ["Modern JavaScript", "Flask APIs from Scratch", "React in Practice"],
    "data-science": ["Python for Data Analysis", "Statistics Essentials", "Machine Learning Basics"],
    "design": ["UI Design Principles", "Figma for Teams"],
    "business": ["Product Management 101", "Startup Finance"],
    "cloud": ["Linux for Developers", "PostgreSQL Performance"],
}


EMBEDDED_PASSWORDS = {
    "admin": "demo-admin-pass",
    "instructor": "demo-instructor-pass",
    "student": "demo-student-pass",
}
EMBEDDED_SHARED_PASSWORD = "demo-shared-pass"


def _embedded() -> bool:
    return current_app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")


def seed_demo_data(*, force: bool = False, seed: int = 7) -> dict | None:
    """Create the demo data set; returns counts and the demo accounts, or None if data exists."""
    if not force and db.session.execute(select(func.count()).select_from(User)).scalar_one():
        return None
    rng = random.Random(seed)
    gamification.ensure_badges()
    tag = secrets.token_hex(3) if force else ""
    if _embedded():
        # The embedded default is a local SQLite file no one else reaches: fixed, documented passwords
        # let a returning user log in again (README, "Demo accounts"). Anywhere else they are random.
        passwords, shared_password = dict(EMBEDDED_PASSWORDS), EMBEDDED_SHARED_PASSWORD
    else:
        passwords = {role: secrets.token_urlsafe(9) for role in ("admin", "instructor", "student")}
        shared_password = secrets.token_urlsafe(9)
    shared_hash = hash_password(shared_password)

    def email(local: str) -> str:
        return f"{local}{'+' + tag if tag else ''}@example.com"

    admin = User(
        email=email("admin"), name="Asha Admin", role="admin", password_hash=hash_password(passwords["admin"])
    )
    instructors = [
        User(
            email=email("instructor"),
            name="Ira Instructor",
            role="instructor",
            password_hash=hash_password(passwords["instructor"]),
        )
    ]
    instructors += [
        User(
            email=email(f"instructor{i}"),
            name=f"Instructor {i}",
            role="instructor",
            password_hash=shared_hash,
        )
        for i in range(2, 7)
    ]
    students = [
        User(
            email=email("student"),
            name="Sam Student",
            role="student",
            password_hash=hash_password(passwords["student"]),
        )
    ]
    students += [
        User(email=email(f"student{i}"), name=f"Student {i}", role="student", password_hash=shared_hash)
        for i in range(2, 41)
    ]
    db.session.add_all([admin, *instructors, *students])
    db.session.flush()

    courses = []
    now = utcnow()
    for d_index, (domain, titles) in enumerate(TOPICS.items()):
        for t_index, title in enumerate(titles):
            instructor = instructors[(d_index + t_index) % len(instructors)]
            status = "approved" if (d_index + t_index) % 6 else "pending"
            price = 0 if t_index == 0 else rng.choice([49900, 79900, 129900])
            course = Course(
                instructor_id=instructor.id,
                title=title,
                domain=domain,
                price=price,
                currency="INR",
                description=f"{title}: a practical, project-based course in {domain.replace('-', ' ')}.",
                status=status,
                approved_at=now if status == "approved" else None,
                submitted_at=now,
                created_at=now - timedelta(days=60 - len(courses)),
            )
            db.session.add(course)
            db.session.flush()
            for m in range(3):
                module = Module(
                    course_id=course.id, title=f"Module {m + 1}: {title} part {m + 1}", position=m
                )
                db.session.add(module)
                db.session.flush()
                for lesson_no in range(3):
                    db.session.add(
                        Lesson(
                            module_id=module.id,
                            course_id=course.id,
                            position=lesson_no,
                            title=f"Lesson {m + 1}.{lesson_no + 1}",
                            video_url=f"https://videos.example.com/{course.id}/{module.id}/{lesson_no}.mp4",
                            materials_url=f"https://files.example.com/{course.id}/{module.id}/{lesson_no}.pdf",
                            duration_seconds=rng.randint(240, 1200),
                        )
                    )
                db.session.add(
                    Quiz(
                        module_id=module.id,
                        course_id=course.id,
                        position=0,
                        question=f"Which statement about part {m + 1} is true?",
                        options=["The first option", "The correct option", "Neither"],
                        correct_option=1,
                    )
                )
            courses.append(course)
    db.session.flush()

    approved = [c for c in courses if c.status == "approved"]
    enrollments = payments = completions = attempts = 0
    for student in students:
        for course in rng.sample(approved, k=min(3, len(approved))):
            paid = course.price > 0
            payment = None
            if paid:
                digest = hashlib.sha1(f"{student.id}-{course.id}-{tag}".encode()).hexdigest()[:14]
                payment = Payment(
                    user_id=student.id,
                    course_id=course.id,
                    course_title=course.title,
                    amount=course.price,
                    currency="INR",
                    receipt=f"seed_{digest}",
                    order_id=f"order_seed{digest}",
                    payment_id=f"pay_seed{digest}",
                    status="paid",
                    verified_at=now,
                    paid_at=now,
                )
                db.session.add(payment)
                db.session.flush()
                payments += 1
            db.session.add(
                Enrollment(
                    user_id=student.id,
                    course_id=course.id,
                    source="payment" if paid else "seed",
                    payment_id=payment.id if payment else None,
                )
            )
            course.enrollment_count += 1
            enrollments += 1
            lessons = (
                db.session.execute(
                    select(Lesson.id)
                    .where(Lesson.course_id == course.id)
                    .order_by(Lesson.module_id, Lesson.position)
                )
                .scalars()
                .all()
            )
            done = lessons[: rng.randint(0, len(lessons) - 1)]
            for lesson_id in done:
                db.session.add(LessonProgress(user_id=student.id, lesson_id=lesson_id, course_id=course.id))
                gamification.award_xp(
                    user_id=student.id,
                    type="lesson_complete",
                    source_id=lesson_id,
                    course_id=course.id,
                    domain=course.domain,
                )
                completions += 1
            for quiz in db.session.execute(select(Quiz).where(Quiz.course_id == course.id)).scalars():
                if rng.random() < 0.5:
                    choice = rng.choice([0, 1])
                    db.session.add(
                        QuizResult(
                            quiz_id=quiz.id,
                            user_id=student.id,
                            module_id=quiz.module_id,
                            course_id=course.id,
                            selected_option=choice,
                            is_correct=choice == quiz.correct_option,
                            correct_option=quiz.correct_option,
                        )
                    )
                    attempts += 1
                    if choice == quiz.correct_option:
                        gamification.award_xp(
                            user_id=student.id,
                            type="quiz_pass",
                            source_id=quiz.id,
                            course_id=course.id,
                            domain=course.domain,
                        )
    forum = seed_forum(courses=approved[:6], rng=rng)
    db.session.commit()
    # Catalogue pages cached before the seed (e.g. an empty list) must not outlive it.
    for course in courses:
        catalog.invalidate(course.id)
    gamification.rebuild_leaderboards()
    return {
        "counts": {
            "users": 1 + len(instructors) + len(students),
            "courses": len(courses),
            "enrollments": enrollments,
            "payments": payments,
            "completions": completions,
            "quiz_attempts": attempts,
            **{f"forum_{k}": v for k, v in forum.items()},
        },
        "accounts": {
            "admin": (admin.email, passwords["admin"]),
            "instructor": (instructors[0].email, passwords["instructor"]),
            "student": (students[0].email, passwords["student"]),
            "others": ("instructor2..6 / student2..40 @example.com", shared_password),
        },
    }
