"""The forum blueprint with every route registered: posts, replies, and flags / moderation."""

from web.resources.forum import moderation, posts, replies  # noqa: F401  (each registers its routes)
from web.resources.forum.blueprint import blp  # noqa: F401
