"""Demo forum data for `flask seed`: questions, answers, votes and accepted answers in several courses."""

from __future__ import annotations

import random

from sqlalchemy import select

from common.catalog.models import Course, Module
from common.db import db
from common.forum.models import Post, Reply, Vote
from common.gamification import service as gamification
from common.learning.models import Enrollment

QUESTIONS = [
    ("How long should the project in module {m} take?", "I spent a whole evening on it. Is that normal?"),
    (
        "Error when running the example from lesson {m}.2",
        "I get `ModuleNotFoundError` even after installing.",
    ),
    ("Is there a cheat sheet for module {m}?", "Something I can keep open while I do the exercises."),
    (
        "Why does the quiz of module {m} say option 1 is wrong?",
        "I read the lesson twice and still think it fits.",
    ),
]
ANSWERS = [
    "Check that your virtual environment is active, then reinstall the package.",
    "About two hours is typical - take breaks between the parts.",
    "The downloadable materials of lesson 1 have a one-page summary.",
    "Re-read the second paragraph: the wording is about *exactly one* case.",
]


def seed_forum(*, courses: list[Course], rng: random.Random, per_course: int = 3) -> dict:
    """Posts with replies from students and the instructor, votes kept in the counters, some
    accepted answers. Adds to the session; the caller commits."""
    counts = {"posts": 0, "replies": 0, "votes": 0, "accepted": 0}
    for course in courses:
        students = (
            db.session.execute(
                select(Enrollment.user_id).where(
                    Enrollment.course_id == course.id, Enrollment.status == "active"
                )
            )
            .scalars()
            .all()
        )
        if len(students) < 2:
            continue
        modules = (
            db.session.execute(
                select(Module.id).where(Module.course_id == course.id).order_by(Module.position)
            )
            .scalars()
            .all()
        )
        for n in range(per_course):
            author = rng.choice(students)
            title, body = QUESTIONS[n % len(QUESTIONS)]
            module_no = n % len(modules)
            post = Post(
                course_id=course.id,
                module_id=modules[module_no] if n % 3 else None,
                user_id=author,
                title=title.format(m=module_no + 1),
                body=body,
            )
            db.session.add(post)
            db.session.flush()
            gamification.award_xp(
                user_id=author,
                type="forum_post",
                source_id=post.id,
                course_id=course.id,
                domain=course.domain,
            )
            counts["posts"] += 1
            repliers = [course.instructor_id] + [s for s in students if s != author][:2]
            replies = []
            for r, replier in enumerate(repliers[: 1 + n % 3]):
                reply = Reply(post_id=post.id, user_id=replier, body=ANSWERS[(n + r) % len(ANSWERS)])
                db.session.add(reply)
                replies.append(reply)
            db.session.flush()
            post.reply_count = len(replies)
            counts["replies"] += len(replies)
            for voter in students:
                if voter != author and rng.random() < 0.6:
                    value = 1 if rng.random() < 0.85 else -1
                    db.session.add(Vote(post_id=post.id, user_id=voter, value=value))
                    post.votes += value
                    counts["votes"] += 1
                for reply in replies:
                    if voter != reply.user_id and rng.random() < 0.4:
                        db.session.add(Vote(reply_id=reply.id, user_id=voter, value=1))
                        reply.votes += 1
                        counts["votes"] += 1
            if replies and n % 2 == 0:
                post.accepted_reply_id = replies[0].id
                counts["accepted"] += 1
    db.session.flush()
    return counts
