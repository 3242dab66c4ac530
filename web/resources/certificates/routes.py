"""Routes of the certificates domain."""
from flask_smorest import Blueprint

blp = Blueprint("certificates", __name__, url_prefix="/api", description="certificates")
