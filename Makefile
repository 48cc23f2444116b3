# The two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTHON ?= python3.11
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
# Service, integration and browser suites run side by side (each module has its own platform).
TEST_JOBS ?= 4
# The Québec government's design system vendored into gateway/static/sdg (make vendor-sdg).
SDG_VERSION ?= 1.5.1

.PHONY: run test install system-deps lint format bench unit-tests service-tests browser-tests clean vendor-sdg

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: install, migrate, seed the demo, start every service and the gateway (Ctrl-C stops all)
run: install
	$(BIN)/rac migrate
	$(BIN)/rac demo
	@echo
	@echo "Plateforme RAC : http://127.0.0.1:$${WEB_PORT:-8000}/  (courriels : var/mail/new)"
	@echo
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start

## system-deps: what the tests need from Debian (Chromium for Playwright, fonts for PDFs,
## PgBouncer for the connection-pooling test, npm for axe-core)
system-deps:
	@missing=""; \
	  command -v chromium >/dev/null || missing="$$missing chromium"; \
	  command -v pdftotext >/dev/null || missing="$$missing poppler-utils"; \
	  test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || missing="$$missing fonts-dejavu-core"; \
	  test -x /usr/sbin/pgbouncer || missing="$$missing pgbouncer"; \
	  command -v npm >/dev/null || missing="$$missing npm"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing from Debian:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  fi
	@rabbitmq-plugins enable --quiet rabbitmq_management >/dev/null 2>&1 || \
	  echo "note: could not enable rabbitmq_management (needed by nameko's rabbit fixtures)"

## test: lint, then unit, nameko service, integration and browser tests side by side (the
## unit tests run while the template databases are made)
test: install system-deps
	$(BIN)/ruff check .
	$(BIN)/python tests/support/axe.py  # axe-core from npm, for the browser accessibility walk
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python tests/run_suites.py --jobs $(TEST_JOBS)

## vendor-sdg: copy the Québec design system's built CSS, fonts and images from npm into
## gateway/static/sdg (committed: run time needs no Node). SDG_VERSION=x.y.z to change version.
vendor-sdg:
	SDG_VERSION=$(SDG_VERSION) scripts/vendor_sdg.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: the platform next to the bare stack, one table, also written to bench/RESULTS.md
## (optional: BENCH_SECONDS=10 BENCH_INSTALLMENTS=100000 BENCH_PLANS=100000
##  BENCH_ONLY=http,lists,contended,rpc,pdf,issue,invoicing,deadlines; BENCH_CONTENDED=1: the
##  whole run beside a CPU hog per core, written beside the quiet run in bench/RESULTS.md)
bench: install system-deps
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m bench

clean:
	rm -rf $(VENV) var tests/artefacts
