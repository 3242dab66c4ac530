"""Flask CLI commands the deployment relies on."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from common.accounts.models import User
from common.accounts.passwords import verify_password
from common.catalog.models import Course
from common.db import db


def test_create_admin(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", "Boss@Example.com", "--password", "a-strong-pass"]
    )
    assert result.exit_code == 0, result.output
    user = db.session.execute(select(User).filter_by(email="boss@example.com")).scalar_one()
    assert user.role == "admin" and verify_password(user.password_hash, "a-strong-pass")


def test_create_admin_refuses_short_password(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", "x@example.com", "--password", "short"]
    )
    assert result.exit_code != 0
    assert db.session.execute(select(User).filter_by(email="x@example.com")).first() is None


def test_seed_loads_demo_data_once(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "admin@example.com" in result.output and "password:" in result.output
    count = lambda model: db.session.execute(select(func.count()).select_from(model)).scalar_one()  # noqa: E731
    assert count(Course) >= 10
    roles = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
    assert roles["instructor"] >= 5 and roles["student"] >= 30 and roles["admin"] == 1
    domains = db.session.execute(select(func.count(func.distinct(Course.domain)))).scalar_one()
    assert domains >= 3
    again = runner.invoke(args=["seed"])
    assert "nothing seeded" in again.output
    assert count(Course) == count(Course)


def test_openapi_and_postman_write(app, tmp_path):
    runner = app.test_cli_runner()
    spec_file, postman_file = tmp_path / "openapi.json", tmp_path / "postman.json"
    assert runner.invoke(args=["openapi", "write", str(spec_file)]).exit_code == 0
    assert "/api/auth/login" in json.loads(spec_file.read_text())["paths"]
    assert runner.invoke(args=["postman", "write", str(postman_file)]).exit_code == 0
    assert json.loads(postman_file.read_text())["item"]


def test_leaderboards_rebuild_command(app):
    app.test_cli_runner().invoke(args=["seed"])
    result = app.test_cli_runner().invoke(args=["leaderboards", "rebuild"])
    assert result.exit_code == 0 and "weekly" in result.output


def test_seed_refuses_in_production(app):
    app.config["PRODUCTION"] = True
    try:
        result = app.test_cli_runner().invoke(args=["seed"])
    finally:
        app.config["PRODUCTION"] = False
    assert result.exit_code != 0 and "refusing to seed" in result.output
    assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 0
