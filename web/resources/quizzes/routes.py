"""Routes of the quizzes domain."""
from flask_smorest import Blueprint

blp = Blueprint("quizzes", __name__, url_prefix="/api", description="quizzes")
