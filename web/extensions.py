"""Flask extension instances, initialised by create_app()."""

from flask_jwt_extended import JWTManager
from flask_migrate import Migrate
from flask_talisman import Talisman

from web.ratelimit import Limiter, remote_address

migrate = Migrate()
jwt = JWTManager()
limiter = Limiter(key_func=remote_address)
talisman = Talisman()
