# Read by the `flask` command (python-dotenv): every documented `flask ...` command, and the
# Procfile's release line, find the app without an export. Real settings go in the environment.
FLASK_APP=web.app:create_app
