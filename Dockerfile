# Image for every process of the stack (web, workers, beat, flower); Chromium from Debian.
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends chromium fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
# The code stays root-owned (read-only to the app); everything the app writes lives under /data,
# owned by the unprivileged user: the instance directory create_app() makes, and local storage.
ENV FLASK_APP=web.app:create_app CHROMIUM_PATH=/usr/bin/chromium PYTHONUNBUFFERED=1 \
    INSTANCE_DIR=/data/instance STORAGE_DIR=/data/storage
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN useradd --create-home app && mkdir -p /data/instance /data/storage && chown -R app:app /data
USER app
EXPOSE 5000
CMD ["gunicorn", "web.app:create_app()", "--config", "gunicorn.conf.py", "--bind", "0.0.0.0:5000", "--access-logfile", "-"]
