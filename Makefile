# The two commands: `make run` (embedded default, no services needed) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := web.app:create_app
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test venv migrate seed serve stack bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

## make run: set up and serve the API with demo data on http://$(HOST):$(PORT) (SQLite, in-process tasks/cache)
run: $(STAMP)
	-@./scripts/ensure_chromium.sh
	$(BIN)/flask db upgrade
	$(BIN)/flask seed
	$(BIN)/honcho -f Procfile.dev start

## make stack: the real stack over the Procfile (needs DATABASE_URL and REDIS_URL)
stack: $(STAMP)
	$(BIN)/honcho start

## make test: set up and run the whole suite on PostgreSQL, Redis and a real Celery worker
test: $(STAMP)
	./scripts/ensure_services.sh
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) instance .pytest_cache .coverage htmlcov
