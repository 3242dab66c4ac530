"""Routes of the learning domain."""
from flask_smorest import Blueprint

blp = Blueprint("learning", __name__, url_prefix="/api", description="learning")
