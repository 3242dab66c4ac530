"""Flask CLI commands: seed, users create-admin, leaderboards rebuild, postman write, payments."""

from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import AppGroup

users_cli = AppGroup("users", help="Manage accounts.")
leaderboards_cli = AppGroup("leaderboards", help="Leaderboard maintenance.")
postman_cli = AppGroup("postman", help="Postman collection.")
payments_cli = AppGroup("payments", help="Razorpay payments: play Checkout on the stand-in, reconcile.")


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


@payments_cli.command("checkout")
@click.argument("order_id")
@click.option("--fail", is_flag=True, help="Make the payment fail instead of succeed.")
@click.option(
    "--complete", is_flag=True, help="Also verify the payment as its student (completes the purchase)."
)
@click.option("--webhooks/--no-webhooks", default=True, help="Let the stand-in send its webhooks too.")
def payments_checkout(order_id, fail, complete, webhooks):
    """Play Razorpay Checkout for ORDER_ID on the local stand-in; print the verify payload."""
    import requests

    from common.db import db
    from common.payments import gateway, service
    from common.payments.models import Payment

    url = gateway.api_base() + "/_standin/checkout"
    try:
        answer = requests.post(
            url,
            json={"order_id": order_id, "outcome": "failed" if fail else "captured", "webhooks": webhooks},
            timeout=10,
        )
    except requests.RequestException as exc:
        raise click.ClickException(f"the Razorpay stand-in at {url} is not reachable: {exc}") from exc
    payload = answer.json()
    click.echo(json.dumps(payload, indent=2))
    if answer.status_code != 200:
        raise click.ClickException("the stand-in refused the checkout")
    if complete and not fail:
        payment = db.session.execute(
            db.select(Payment).where(Payment.order_id == order_id)
        ).scalar_one_or_none()
        if payment is None:
            raise click.ClickException(f"no payment record for order {order_id}")
        row, job = service.verify_payment(
            user_id=payment.user_id,
            order_id=order_id,
            payment_id=payload["razorpay_payment_id"],
            signature=payload["razorpay_signature"],
        )
        click.echo(f"payment {row.id}: {row.status}" + (f" (job {job.id}: {job.status})" if job else ""))


@payments_cli.command("reconcile")
@click.option(
    "--older-than", type=int, default=None, help="Seconds an order must be stuck (default from config)."
)
def payments_reconcile(older_than):
    """Settle stuck orders and refunds from Razorpay now (what the beat task does every 5 minutes)."""
    from common.flows.payment_events import reconcile

    click.echo(json.dumps(reconcile(older_than_seconds=older_than)))


@click.command("seed")
@click.option("--force", is_flag=True, help="Seed even when the database already has users.")
def seed(force):
    """Load demo data (prints the demo accounts' passwords once); refused in production."""
    from flask import current_app

    from common.seed import seed_demo_data

    if current_app.config["PRODUCTION"]:
        # Demo accounts with known passwords have no place in a real database.
        raise click.ClickException("refusing to seed demo data with APP_ENV=production")

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
    app.cli.add_command(payments_cli)
    app.cli.add_command(seed)
