"""Gamification: the caller's XP and badges, the badge catalogue, the weekly and monthly leaderboards."""

from __future__ import annotations

import json

from flask import current_app
from flask_jwt_extended import verify_jwt_in_request
from flask_smorest import Blueprint

from common.cache import cache
from common.errors import ServiceUnavailable
from common.gamification import service
from web.auth import auth_required, current_user_id
from web.hot import hot_response
from web.resources.gamification.schemas import (
    BadgeCatalogueSchema,
    LeaderboardArgs,
    LeaderboardSchema,
    MyBadgesSchema,
    MyXpSchema,
)

blp = Blueprint("gamification", __name__, url_prefix="/api", description="XP, badges and leaderboards")
CATALOGUE_KEY = "badges:catalogue"


@blp.route("/me/xp", methods=["GET"])
@auth_required()
@blp.response(200, MyXpSchema)
def my_xp():
    """Your XP: total, per type, this week and month, your daily streak and recent events."""
    return service.my_xp(user_id=current_user_id())


@blp.route("/me/badges", methods=["GET"])
@auth_required()
@blp.response(200, MyBadgesSchema)
def my_badges():
    """Your earned badges, and progress towards the others."""
    return service.my_badges(user_id=current_user_id())


@blp.route("/badges", methods=["GET"])
@blp.response(200, BadgeCatalogueSchema)
def badge_catalogue():
    """The badge catalogue and how each badge is earned."""
    body = cache.cached_json(CATALOGUE_KEY, current_app.config["CACHE_DEFAULT_TTL"], service.badge_catalogue)
    response = current_app.response_class(
        json.dumps(body, separators=(",", ":")), mimetype="application/json"
    )
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


def _caller_or_anonymous() -> int | None:
    """The caller's id from an optional token. With the token store down the board is still public:
    answer as for an anonymous caller (`me` null) rather than fail."""
    try:
        verify_jwt_in_request(optional=True)
    except ServiceUnavailable:
        return None
    return current_user_id()


@blp.route("/leaderboard", methods=["GET"])
@hot_response
@blp.doc(security=[{"bearerAuth": []}, {}])
@blp.arguments(LeaderboardArgs, location="query")
@blp.response(200, LeaderboardSchema)
@blp.alt_response(401, description="An invalid, expired or revoked token (no token is fine)")
def leaderboard(args):
    """The weekly or monthly board (overall or one domain) in real time; `me` with a token."""
    body, me = service.read_board(
        period=args["period"],
        domain=args["domain"],
        limit=args["limit"],
        previous=args["previous"],
        user_id=_caller_or_anonymous(),
    )
    tail = ',"me":' + json.dumps(me, separators=(",", ":")) + "}"
    return current_app.response_class(body[:-1] + tail, mimetype="application/json")
