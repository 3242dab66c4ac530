"""The collection's Walkthrough folder: the main flow, in order, each request checking its outcome."""

from __future__ import annotations

import json
import re

from web.postman_scripts import GENERIC_TEST, STORE_TOKENS


def _step(
    name: str, method: str, path: str, *, body: dict | None = None, tests: list[str], auth: bool = True
):
    base = "{{razorpayStandin}}" if path.startswith("/_standin") else "{{baseUrl}}"
    segments = path.strip("/").split("/")
    request = {
        "method": method,
        "header": [{"key": "Accept", "value": "application/json"}],
        "url": {"raw": base + path, "host": [base], "path": segments},
        "auth": (
            {"type": "bearer", "bearer": [{"key": "token", "value": "{{accessToken}}"}]}
            if auth
            else {"type": "noauth"}
        ),
    }
    if "?" in path:
        route, query = path.split("?", 1)
        request["url"]["path"] = route.strip("/").split("/")
        request["url"]["query"] = [
            dict(zip(("key", "value"), pair.split("=", 1), strict=True)) for pair in query.split("&")
        ]
    if body is not None:
        request["header"].append({"key": "Content-Type", "value": "application/json"})
        # "{{int:name}}" stands for a variable that must reach the API as a JSON number, not a string.
        raw = re.sub(r'"\{\{int:(\w+)\}\}"', r"{{\1}}", json.dumps(body, indent=2))
        request["body"] = {"mode": "raw", "raw": raw, "options": {"raw": {"language": "json"}}}
    return {
        "name": name,
        "request": request,
        "event": [{"listen": "test", "script": {"type": "text/javascript", "exec": GENERIC_TEST + tests}}],
    }


def _status(*codes: int) -> str:
    expected = list(codes)
    return (
        f"pm.test('status {codes}', function () {{ pm.expect(pm.response.code).to.be.oneOf({expected}); }});"
    )


def _check(name: str, subject: str, assertion: str) -> str:
    """A named test: pm.expect(subject).assertion, in JavaScript where `body` is the parsed answer."""
    check = f"var body = pm.response.json(); pm.expect({subject}).{assertion};"
    return f"pm.test('{name}', function () {{ {check} }});"


def _keep(variable: str, expression: str) -> str:
    return f"pm.collectionVariables.set('{variable}', {expression});"


def _login(role: str) -> dict:
    return _step(
        f"Log in as the demo {role}",
        "POST",
        "/api/auth/login",
        body={"email": f"{{{{{role}Email}}}}", "password": f"{{{{{role}Password}}}}"},
        tests=[_status(200), *STORE_TOKENS],
        auth=False,
    )


def walkthrough() -> dict:
    body = "pm.response.json()"
    steps = [
        _login("instructor"),
        _step(
            "Create a paid course (draft)",
            "POST",
            "/api/courses",
            body={
                "title": "Postman course {{$timestamp}}",
                "description": "Made by the Postman walkthrough",
                "domain": "programming",
                "price": 49900,
                "currency": "INR",
            },
            tests=[_status(201), _keep("courseId", f"{body}.id"), _keep("courseTitle", f"{body}.title")],
        ),
        _step(
            "Add a module",
            "POST",
            "/api/courses/{{courseId}}/modules",
            body={"title": "Getting started"},
            tests=[_status(201), _keep("moduleId", f"{body}.id")],
        ),
        _step(
            "Add a lesson",
            "POST",
            "/api/modules/{{moduleId}}/lessons",
            body={"title": "Hello", "video_url": "https://videos.example.com/hello.mp4"},
            tests=[_status(201), _keep("lessonId", f"{body}.id")],
        ),
        _step(
            "Submit the course for review",
            "POST",
            "/api/courses/{{courseId}}/submit",
            tests=[
                _status(200),
                _check("pending", "body.status", "to.eql('pending')"),
            ],
        ),
        _login("admin"),
        _step(
            "Approve the course",
            "POST",
            "/api/admin/courses/{{courseId}}/approve",
            tests=[_status(200)],
        ),
        _login("student"),
        _step(
            "Browse the catalogue",
            "GET",
            "/api/courses?q={{courseTitle}}",
            tests=[
                _status(200),
                _check(
                    "found",
                    "body.items.map(function (c) { return c.id; })",
                    "to.include(Number(pm.collectionVariables.get('courseId')))",
                ),
                _check("Link header", "pm.response.headers.has('Link')", "to.be.true"),
            ],
        ),
        _step("Open the course", "GET", "/api/courses/{{courseId}}", tests=[_status(200)]),
        _step(
            "Create a Razorpay order",
            "POST",
            "/api/payments/order",
            body={"course_id": "{{int:courseId}}"},
            tests=[_status(201), _keep("orderId", f"{body}.order_id"), _keep("paymentRowId", f"{body}.id")],
        ),
        _step(
            "Pay on the Razorpay stand-in's Checkout (local only)",
            "POST",
            "/_standin/checkout",
            body={"order_id": "{{orderId}}", "outcome": "captured"},
            tests=[
                _status(200),
                _keep("razorpayPaymentId", f"{body}.razorpay_payment_id"),
                _keep("razorpaySignature", f"{body}.razorpay_signature"),
            ],
            auth=False,
        ),
        _step(
            "Verify the payment",
            "POST",
            "/api/payments/verify",
            body={
                "razorpay_order_id": "{{orderId}}",
                "razorpay_payment_id": "{{razorpayPaymentId}}",
                "razorpay_signature": "{{razorpaySignature}}",
            },
            tests=[
                _status(200, 202),
                _check(
                    "Razorpay payment id",
                    "body.payment_id",
                    "to.eql(pm.collectionVariables.get('razorpayPaymentId'))",
                ),
            ],
        ),
        _step(
            "Complete the lesson",
            "POST",
            "/api/lessons/{{lessonId}}/complete",
            tests=[
                _status(200),
                _check("course completed", "body.course_completed", "to.be.true"),
            ],
        ),
        _step(
            "My certificates",
            "GET",
            "/api/me/certificates",
            tests=[
                _status(200),
                "var mine = pm.response.json().items.filter(function (c) {"
                " return c.course_id === Number(pm.collectionVariables.get('courseId')); });",
                "pm.test('certificate issued', function () { pm.expect(mine.length).to.eql(1); });",
                "if (mine.length) {",
                "  pm.collectionVariables.set('verificationCode', mine[0].verification_code);",
                "}",
            ],
        ),
        _step(
            "Verify the certificate (public)",
            "GET",
            "/api/certificates/verify/{{verificationCode}}",
            tests=[
                _status(200),
                _check("valid", "body.valid", "to.be.true"),
            ],
            auth=False,
        ),
        _step(
            "The weekly leaderboard",
            "GET",
            "/api/leaderboard?period=weekly",
            tests=[_status(200)],
            auth=False,
        ),
    ]
    return {
        "name": "Walkthrough",
        "description": (
            "Run in order: an instructor publishes, the admin approves, a student buys, completes it, "
            "and is certified."
        ),
        "item": steps,
    }
