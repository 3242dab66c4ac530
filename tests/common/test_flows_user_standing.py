"""Suspension and promotion to admin take the user off the live leaderboards at once (the flow)."""

from __future__ import annotations

from common.db import db
from common.flows import user_standing
from common.gamification import service
from tests.common.test_gamification_xp import board_score, weekly_key
from tests.factories import make_user


def _on_the_board(*users):
    for user in users:
        service.award_xp(user_id=user.id, type="quiz_pass", source_id=1, domain="design")
    db.session.commit()


def test_suspension_drops_the_user_from_the_boards_and_reinstating_keeps_them_off_until_rebuild(
    admin, student
):
    other = make_user()
    _on_the_board(student, other)
    user_standing.set_suspended(actor_id=admin.id, user_id=student.id, suspended=True, reason="spam")
    assert (
        board_score(weekly_key(), student.id) is None
        and board_score(weekly_key("design"), student.id) is None
    )
    assert board_score(weekly_key(), other.id) == 20
    user_standing.set_suspended(actor_id=admin.id, user_id=student.id, suspended=False)
    service.rebuild_leaderboards()
    assert board_score(weekly_key(), student.id) == 20


def test_promotion_to_admin_drops_the_user_and_other_role_changes_do_not(admin, student):
    other = make_user()
    _on_the_board(student, other)
    user_standing.change_role(actor_id=admin.id, user_id=other.id, role="instructor")
    assert board_score(weekly_key(), other.id) == 20
    user_standing.change_role(actor_id=admin.id, user_id=student.id, role="admin")
    assert board_score(weekly_key(), student.id) is None
