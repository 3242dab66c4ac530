"""The forum's XP take-back and badge grant: exact, idempotent, inside the caller's unit of work."""
from __future__ import annotations

from common.accounts.models import User
from common.db import db
from common.gamification.models import Badge, UserBadge, XpEvent
from common.gamification.service import award_xp, grant_badge, revoke_xp
from tests.factories import make_user


def test_revoke_xp_takes_back_exactly_that_award(student):
    award_xp(user_id=student.id, type="forum_post", source_id=7)
    award_xp(user_id=student.id, type="forum_post", source_id=8)
    award_xp(user_id=student.id, type="quiz_pass", source_id=7)
    db.session.commit()
    assert revoke_xp(user_id=student.id, type="forum_post", source_id=7) == 5
    db.session.commit()
    assert db.session.get(User, student.id).xp_total == 25
    assert {(e.type, e.source_id) for e in db.session.query(XpEvent)} == {("forum_post", 8), ("quiz_pass", 7)}
    assert revoke_xp(user_id=student.id, type="forum_post", source_id=7) == 0
    assert revoke_xp(user_id=make_user().id, type="forum_post", source_id=8) == 0
    db.session.commit()
    assert db.session.get(User, student.id).xp_total == 25


def test_grant_badge_once_and_only_if_catalogued(student):
    assert grant_badge(user_id=student.id, code="helpful-answer") is False
    db.session.add(Badge(code="helpful-answer", name="Helpful answer", description="x", criterion="reply_score",
                         threshold=10))
    db.session.commit()
    assert grant_badge(user_id=student.id, code="helpful-answer") is True
    assert grant_badge(user_id=student.id, code="helpful-answer") is False
    db.session.commit()
    assert db.session.query(UserBadge).filter_by(user_id=student.id).count() == 1
