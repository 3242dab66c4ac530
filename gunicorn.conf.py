"""gunicorn settings read from the working directory (the Procfile's `web` runs from the repo root).

gunicorn answers requests over these limits itself, with an HTML page; the app's own, lower
limits (MAX_URL_LENGTH, MAX_HEADER_BYTES in common/config.py) answer the JSON error envelope
first, so only requests beyond these bounds ever see gunicorn's page.
"""

import os

limit_request_line = 8190  # gunicorn's maximum; the app answers 414 above MAX_URL_LENGTH (4096)
limit_request_field_size = 16380  # the app answers 431 above MAX_HEADER_BYTES (8192)
limit_request_fields = 100

# Worker model, chosen by measurement (bench/results/REPORT-100k.md, "worker model"): a request here
# spends most of its time waiting on PostgreSQL and Redis round trips (and fsync on commit), so
# threads that overlap those waits beat one request per process; 2 processes x 4 threads did best on
# 2 cores (sync x2, sync x4 and gthread 2x8 measured too). The bench's ceiling runs under the same
# three settings. WEB_WORKER_CLASS, WEB_CONCURRENCY and WEB_THREADS override them.
# An empty value means the default, as for every other setting (a copied .env.example has them empty).
worker_class = os.environ.get("WEB_WORKER_CLASS") or "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or "2")
threads = int(os.environ.get("WEB_THREADS") or "4")
