# The two commands: `make run` (embedded default, no services needed) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Runtime dependencies only for `make run`; `make test` adds the test tools on top.
STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test fuzz venv bench soak clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(DEV_STAMP)

venv: $(DEV_STAMP)

## make run: set up and serve the API with demo data on http://$(HOST):$(PORT).
## Embedded default (SQLite, in-process tasks and cache, local Razorpay/Google stand-ins) unless
## REDIS_URL is set: then the real stack from the Procfile (gunicorn, workers, beat, Flower).
run: $(STAMP)
	-@./scripts/ensure_chromium.sh
	$(BIN)/flask db upgrade
	$(BIN)/flask seed
	@if [ -n "$$REDIS_URL" ]; then \
	  echo "REDIS_URL is set: starting the real stack (web, worker, certificates, beat, flower)"; \
	  $(BIN)/honcho start web worker certificates beat flower; \
	else \
	  echo "Embedded default: API on http://$(HOST):$(PORT)/api (docs: /api/docs)"; \
	  API_HOST=$(HOST) API_PORT=$(PORT) $(BIN)/honcho -f Procfile.dev start; \
	fi


## make test: set up, ruff (format check and lint), then the whole suite on PostgreSQL, Redis and a real Celery worker
test: $(DEV_STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	./scripts/ensure_services.sh
	$(BIN)/python -m pytest

## make fuzz: schemathesis over every operation, every role, many more (randomized) examples than the suite
fuzz: $(DEV_STAMP)
	./scripts/ensure_services.sh
	FUZZ_EXAMPLES=$(or $(EXAMPLES),200) FUZZ_RANDOM=1 $(BIN)/python -m pytest --no-cov -q -o timeout=3600 tests/fuzz

bench: $(DEV_STAMP)
	./scripts/ensure_services.sh
	./scripts/ensure_bench_tools.sh
	$(BIN)/python -m bench.run --profile $(or $(PROFILE),100k)
	$(BIN)/python -m bench.explain --profile $(or $(PROFILE),100k)

## make soak: 200 simulated students against the real stack for SOAK_SECONDS (300), checks, RELIABILITY.md
soak: $(DEV_STAMP)
	./scripts/ensure_services.sh
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) instance .pytest_cache .coverage htmlcov
