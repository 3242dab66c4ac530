"""gunicorn settings read from the working directory (the Procfile's `web` runs from the repo root).

gunicorn answers requests over these limits itself, with an HTML page; the app's own, lower
limits (MAX_URL_LENGTH, MAX_HEADER_BYTES in common/config.py) answer the JSON error envelope
first, so only requests beyond these bounds ever see gunicorn's page.
"""

limit_request_line = 8190  # gunicorn's maximum; the app answers 414 above MAX_URL_LENGTH (4096)
limit_request_field_size = 16380  # the app answers 431 above MAX_HEADER_BYTES (8192)
limit_request_fields = 100
