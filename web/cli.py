"""Flask CLI commands: seed, users create-admin, leaderboards rebuild, postman write."""
from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import AppGroup

users_cli = AppGroup("users", help="Manage accounts.")
leaderboards_cli = AppGroup("leaderboards", help="Leaderboard maintenance.")
postman_cli = AppGroup("postman", help="Postman collection.")


@users_cli.command("create-admin")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", default="Administrator")
def create_admin(email, password, name):
    """Create an admin account (or promote an existing one)."""
    from common.accounts.service import create_admin as make_admin

    if len(password) < 8:
        raise click.BadParameter("must be at least 8 characters", param_hint="--password")
    user = make_admin(email=email, password=password, name=name)
    click.echo(f"admin {user.email} (id {user.id}) is ready")


@leaderboards_cli.command("rebuild")
def rebuild_leaderboards():
    """Recompute the weekly and monthly leaderboards from the XP events."""
    from common.gamification.service import rebuild_leaderboards as rebuild

    stats = rebuild()
    click.echo(f"leaderboards rebuilt: {stats}")


@postman_cli.command("write")
@click.argument("output", type=click.File("w"))
def write_postman(output):
    """Write the Postman collection derived from the OpenAPI document."""
    from web.postman import build_collection

    json.dump(build_collection(), output, indent=2)


@click.command("seed")
@click.option("--force", is_flag=True, help="Seed even when the database already has users.")
def seed(force):
    """Load demo data (prints the demo accounts' passwords once)."""
    from common.seed import seed_demo_data

    result = seed_demo_data(force=force)
    if result is None:
        click.echo("database already has data; nothing seeded (use --force to add more)")
        return
    click.echo("demo data loaded: " + ", ".join(f"{k}={v}" for k, v in result["counts"].items()))
    click.echo("demo accounts (shown once):")
    for role, (email, password) in result["accounts"].items():
        click.echo(f"  {role:<10} {email}  password: {password}")


def register_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(leaderboards_cli)
    app.cli.add_command(postman_cli)
    app.cli.add_command(seed)
