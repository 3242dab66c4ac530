"""Imports every domain's models so metadata (and Alembic) sees the whole schema."""

from common.accounts.models import TokenFamily, User  # noqa: F401
from common.admin.models import AuditLog  # noqa: F401
from common.catalog.models import Course, Lesson, Module  # noqa: F401
from common.certificates.models import Certificate  # noqa: F401
from common.credentials.models import Credential  # noqa: F401
from common.forum.models import Flag, Post, Reply, Vote  # noqa: F401
from common.gamification.models import Badge, LeaderboardEntry, UserBadge, XpEvent  # noqa: F401
from common.jobs.models import Job  # noqa: F401
from common.learning.models import Enrollment, LessonProgress  # noqa: F401
from common.payments.models import Payment, WebhookEvent  # noqa: F401
from common.quizzes.models import Quiz, QuizResult  # noqa: F401
