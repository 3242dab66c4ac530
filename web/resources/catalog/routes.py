"""Routes of the catalog domain."""
from flask_smorest import Blueprint

blp = Blueprint("catalog", __name__, url_prefix="/api", description="catalog")
