"""gunicorn settings read from the working directory (the Procfile's `web` runs from the repo root).

gunicorn answers requests over these limits itself, with an HTML page; the app's own, lower
limits (MAX_URL_LENGTH, MAX_HEADER_BYTES in common/config.py) answer the JSON error envelope
first, so only requests beyond these bounds ever see gunicorn's page.
"""

import os

limit_request_line = 8190  # gunicorn's maximum; the app answers 414 above MAX_URL_LENGTH (4096)
limit_request_field_size = 16380  # the app answers 431 above MAX_HEADER_BYTES (8192)
limit_request_fields = 100

# Worker model: chosen by measurement (bench/results/REPORT-100k.md); the bench's ceiling runs under
# the same three settings. WEB_CONCURRENCY, WEB_WORKER_CLASS and WEB_THREADS override them.
worker_class = os.environ.get("WEB_WORKER_CLASS", "sync")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "1"))
