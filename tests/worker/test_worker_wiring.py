"""The Celery app is bound to Flask: tasks run in an app context on a real worker, via Redis."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from common.db import db
from common.gamification.models import LeaderboardEntry, XpEvent
from tests.factories import make_user


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_leaderboard_rebuild_runs_on_a_real_worker(app, celery_worker):
    user = make_user()
    db.session.add(XpEvent(user_id=user.id, type="quiz_pass", points=20, source_id=1, domain="design"))
    db.session.commit()
    celery = app.extensions["celery"]
    assert celery.conf.task_always_eager is False
    celery.tasks["leaderboards.rebuild"].delay()

    def built():
        db.session.rollback()  # see the worker's commits
        return db.session.execute(select(func.count()).select_from(LeaderboardEntry)).scalar_one() == 4

    assert wait_for(built)


def test_routes_and_schedule():
    import celeryconfig

    assert celeryconfig.task_routes["payments.*"] == {"queue": "payments"}
    assert {q.name for q in celeryconfig.task_queues} == {"default", "payments", "certificates", "reports"}
    assert celeryconfig.beat_schedule["leaderboards-rebuild"]["task"] == "leaderboards.rebuild"


def test_eager_mode_shares_the_callers_session(app):
    """On the embedded default a task runs in-process and must not close the caller's session."""
    from web.app import create_app

    embedded = create_app({"CELERY_TASK_ALWAYS_EAGER": True})
    with embedded.app_context():
        user = make_user()
        embedded.extensions["celery"].tasks["leaderboards.rebuild"].delay()
        assert user.email  # still attached and loadable
        assert db.session.execute(select(func.count()).select_from(LeaderboardEntry)).scalar_one() == 0
