"""The blueprint registry: create_app() registers web.resources.<name>.routes.blp for each name."""

BLUEPRINTS = [
    "health",
    "auth",
    "jobs",
    "catalog",
    "learning",
    "quizzes",
    "payments",
    "certificates",
    "gamification",
    "admin",
    "forum",
    "credentials",
]
