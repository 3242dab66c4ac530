"""Token families in PostgreSQL: rotation, reuse detection, logout; the token-version compare-and-set."""

from __future__ import annotations

import jwt as pyjwt

from common.accounts import tokens
from common.accounts.models import TokenFamily
from common.cache import cache
from common.db import db
from tests.concurrency import run_together
from tests.factories import PASSWORD
from tests.query_counter import recorded_statements


def login(client, email):
    response = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200
    return response.get_json()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def family_of(token) -> TokenFamily:
    claims = pyjwt.decode(token, options={"verify_signature": False})
    db.session.expire_all()
    return db.session.get(TokenFamily, claims["fam"])


def test_login_records_a_family_and_refresh_rotates_it(client, student):
    first = login(client, student.email)
    family = family_of(first["refresh_token"])
    assert family.user_id == student.id and family.revoked_at is None and family.rotated_at is None
    old_refresh_jti = family.refresh_jti
    second = client.post("/api/auth/refresh", headers=bearer(first["refresh_token"])).get_json()
    family = family_of(second["refresh_token"])
    # Same session, new current tokens; one row per login.
    assert family.id == family_of(first["refresh_token"]).id
    assert family.refresh_jti != old_refresh_jti and family.rotated_at is not None
    assert db.session.query(TokenFamily).count() == 1
    assert second["user"]["id"] == student.id


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(client, student):
    first = login(client, student.email)
    other_session = login(client, student.email)
    second = client.post("/api/auth/refresh", headers=bearer(first["refresh_token"])).get_json()
    # The stolen (already rotated) refresh token comes back: refused, and the session ends for both holders.
    replay = client.post("/api/auth/refresh", headers=bearer(first["refresh_token"]))
    assert replay.status_code == 401
    assert client.post("/api/auth/refresh", headers=bearer(second["refresh_token"])).status_code == 401
    assert client.get("/api/auth/me", headers=bearer(second["access_token"])).status_code == 401
    family = family_of(second["refresh_token"])
    assert family.revoked_at is not None and family.revoke_reason == "reuse"
    # Another login of the same user is untouched.
    assert client.get("/api/auth/me", headers=bearer(other_session["access_token"])).status_code == 200
    assert family_of(other_session["refresh_token"]).revoked_at is None


def test_logout_revokes_the_family_in_the_database(client, student):
    pair = login(client, student.email)
    assert client.post("/api/auth/logout", headers=bearer(pair["access_token"])).status_code == 200
    family = family_of(pair["refresh_token"])
    assert family.revoked_at is not None and family.revoke_reason == "logout"
    pair = login(client, student.email)
    assert client.post("/api/auth/logout/refresh", headers=bearer(pair["refresh_token"])).status_code == 200
    assert family_of(pair["refresh_token"]).revoke_reason == "logout"
    assert client.get("/api/auth/me", headers=bearer(pair["access_token"])).status_code == 401


def test_refresh_token_without_a_family_is_refused(client, student):
    # A refresh token minted before token families existed (or forged without one): sign in again.
    from flask_jwt_extended import create_refresh_token

    legacy = create_refresh_token(identity=str(student.id), additional_claims={"role": "student", "tv": 1})
    assert client.post("/api/auth/refresh", headers=bearer(legacy)).status_code == 401


def test_concurrent_refreshes_with_one_token_leave_one_winner_and_a_dead_family(app, client, student):
    pair = login(client, student.email)

    def refresh():
        return app.test_client().post("/api/auth/refresh", headers=bearer(pair["refresh_token"]))

    responses = run_together(app, [refresh] * 4)
    assert sorted(r.status_code for r in responses) == [200, 401, 401, 401]
    family = family_of(pair["refresh_token"])
    # The losers presented a token that had just been rotated: reuse, so the winner's pair dies too.
    assert family.revoke_reason == "reuse"
    winner = next(r for r in responses if r.status_code == 200).get_json()
    assert client.post("/api/auth/refresh", headers=bearer(winner["refresh_token"])).status_code == 401
    assert client.get("/api/auth/me", headers=bearer(winner["access_token"])).status_code == 401


# --- the token version: a stale reader never overwrites the suspended marker (issue 12, defect 6) ----


def test_a_version_read_before_a_suspension_cannot_overwrite_it(client, student, admin):
    from common.accounts.service import set_suspended

    headers = bearer(login(client, student.email)["access_token"])
    cache.delete(tokens._version_key(student.id))
    # A request reads the version from the database (a cache miss)...
    stale = tokens._read_version(student.id)
    assert stale == (1, "a")
    # ...the admin suspends the user (commit, then the "suspended" marker is published)...
    set_suspended(actor_id=admin.id, user_id=student.id, suspended=True)
    # ...and the first request stores what it read: refused by the compare-and-set.
    tokens._store_version(student.id, stale)
    assert cache.get(tokens._version_key(student.id)) == b"2:s"
    assert client.get("/api/auth/me", headers=headers).status_code == 403


def test_a_stale_cached_version_older_than_the_token_is_reloaded(client, student):
    # A version bump whose publication never reached Redis: tokens carrying the new version still work.
    student.token_version = 5
    db.session.commit()
    fresh = login(client, student.email)
    cache.set(tokens._version_key(student.id), "1:a", 60)
    assert client.get("/api/auth/me", headers=bearer(fresh["access_token"])).status_code == 200
    assert cache.get(tokens._version_key(student.id)) == b"5:a"


def test_login_caches_the_version_so_the_first_request_reads_no_user_row(client, student):
    cache.delete(tokens._version_key(student.id))
    headers = bearer(login(client, student.email)["access_token"])
    assert cache.get(tokens._version_key(student.id)) == b"1:a"
    with recorded_statements() as statements:
        assert client.get("/api/me/enrollments", headers=headers).status_code == 200
    assert not [s for s in statements if "token_version" in s]


def test_a_login_never_replaces_a_newer_cached_version(client, student):
    fresh = login(client, student.email)
    cache.set(tokens._version_key(student.id), "7:s", 60)  # published by a change this login missed
    login(client, student.email)
    assert cache.get(tokens._version_key(student.id)) == b"7:s"
    assert client.get("/api/auth/me", headers=bearer(fresh["access_token"])).status_code == 403


def test_suspension_racing_with_token_checks_always_wins(app, client, student, admin):
    from common.accounts.service import set_suspended

    headers = bearer(login(client, student.email)["access_token"])
    cache.delete(tokens._version_key(student.id))
    student_id, admin_id = student.id, admin.id

    def check():
        return app.test_client().get("/api/auth/me", headers=headers).status_code

    def suspend():
        set_suspended(actor_id=admin_id, user_id=student_id, suspended=True)
        return "suspended"

    results = run_together(app, [check] * 8 + [suspend])
    assert set(results) <= {200, 403, "suspended"}
    # Whatever the interleaving, the cache ends on the suspended marker and the token is refused.
    assert cache.get(tokens._version_key(student_id)) == b"2:s"
    assert client.get("/api/auth/me", headers=headers).status_code == 403


def test_version_compare_and_set_on_both_backends(app):
    from common.cache import MemoryCache

    for backend in (MemoryCache(), app.extensions["cache"]):
        assert backend.set_if_newer("tv:x", 3, "3:a", 60) is True
        assert backend.set_if_newer("tv:x", 2, "2:a", 60) is False
        assert backend.set_if_newer("tv:x", 3, "3:s", 60) is True  # same version, new state
        assert backend.get("tv:x") == b"3:s"
        backend.set("tv:y", "not-a-rank", 60)
        assert backend.set_if_newer("tv:y", 1, "1:a", None) is True
        assert backend.get("tv:y") == b"1:a"


def test_legacy_access_token_without_a_family_can_still_log_out(client, student):
    from flask_jwt_extended import create_access_token

    legacy = create_access_token(identity=str(student.id), additional_claims={"role": "student", "tv": 1})
    assert client.get("/api/auth/me", headers=bearer(legacy)).status_code == 200
    assert client.post("/api/auth/logout", headers=bearer(legacy)).status_code == 200
    assert client.get("/api/auth/me", headers=bearer(legacy)).status_code == 401


def test_expired_families_are_purged_by_the_daily_task(app, client, student):
    from datetime import timedelta

    from common.db import utcnow

    kept = login(client, student.email)
    expired = login(client, student.email)
    family_of(expired["refresh_token"]).expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert app.extensions["celery"].tasks["accounts.purge_token_families"].apply().get() == 1
    assert [f.id for f in db.session.query(TokenFamily)] == [family_of(kept["refresh_token"]).id]
    assert client.post("/api/auth/refresh", headers=bearer(expired["refresh_token"])).status_code == 401
    import celeryconfig

    assert (
        celeryconfig.beat_schedule["accounts-purge-token-families"]["task"] == "accounts.purge_token_families"
    )
