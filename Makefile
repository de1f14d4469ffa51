# Moments Console — the two commands: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)
# `make run PORT=8107 VAR_DIR=/tmp/x`: the port of the web server, and the folder of the SQLite
# file, the broker, the emails and the worker's logs (console/settings.py's default otherwise).
PORT ?= 8000
VAR_DIR ?= $(CURDIR)/var
# The console runs in DEBUG mode under `make run` unless told otherwise; links in emails point
# at this server; emails go to files in $(VAR_DIR)/emails (EMAIL_URL overrides each).
RUN_ENV := DEBUG=$${DEBUG:-1} VAR_DIR="$(VAR_DIR)" SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)} \
	EMAIL_URL=$${EMAIL_URL:-filemail://}

# The suite runs on every core (pytest-xdist), at most four: each worker has its own test
# database and Redis database (tests/conftest.py). Each worker takes tests in pytest-django's
# order (transactional tests, which empty the tables, after the others, which read the rows the
# migrations made); tests marked xdist_group share a worker (the production servers start once).
# `make test XDIST=` runs the suite in one process.
XDIST ?= -n auto --maxprocesses=4 --dist loadgroup

.PHONY: run test test-embedded test-fast install chromium lint layers-graph bench bench-invoices bench-admin cluster-check migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the browser tests (Playwright cannot download its own here).
chromium:
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else \
	  echo "chromium is missing and cannot be installed here: browser tests will be skipped (they fail in CI)."; \
	fi

migrate: install
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput

run: migrate
	@$(RUN_ENV) $(BIN)/python manage.py load_demo_catalog
	@# With DEBUG on (the default here): the demo developer account, fresh on every run; how to
	@# sign in is saved for console_ready, which prints it last. With DEBUG=0 it is skipped.
	@$(RUN_ENV) $(BIN)/python manage.py load_demo_account --if-debug --save "$(VAR_DIR)/demo-account.json"
	@mkdir -p "$(VAR_DIR)/logs"
	@echo "Starting the web server on port $(PORT), the Celery worker and beat (they log to $(VAR_DIR)/logs/)..."
	@# On Ctrl-C or exit, stop the background worker and beat (and wait for their warm
	@# shutdown); the trap clears itself first so it never re-enters. console_ready waits for
	@# the web server's health check, then prints the URL and the sign-in in a box: the last
	@# lines before the request log.
	@# The worker is started without -Q: it consumes every queue (celery and long, console/queues.py).
	@trap 'trap - INT TERM EXIT; kill $$(jobs -p) 2>/dev/null; wait' INT TERM EXIT; \
	$(RUN_ENV) $(BIN)/celery -A console worker --loglevel=info --concurrency=2 >>"$(VAR_DIR)/logs/worker.log" 2>&1 & \
	$(RUN_ENV) $(BIN)/celery -A console beat --loglevel=info >>"$(VAR_DIR)/logs/beat.log" 2>&1 & \
	$(RUN_ENV) $(BIN)/python manage.py console_ready --url http://127.0.0.1:$(PORT) --demo "$(VAR_DIR)/demo-account.json" --logs "$(VAR_DIR)/logs" & \
	$(RUN_ENV) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

lint: install
	$(BIN)/ruff check .
	@# The layers (pyproject.toml, README "Layout"): an import that runs back up fails here.
	$(BIN)/lint-imports
	@# The check compares models with migration files; no database is needed for it.
	DEBUG=1 DATABASE_URL=sqlite:///:memory: $(BIN)/python manage.py makemigrations --check --dry-run

# Redraw static/docs/layers.svg (README, "Layout") from the imports; needs graphviz's `dot`.
layers-graph: install
	$(BIN)/python bench/layers_graph.py

test: install chromium lint
	$(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

# The suite on the embedded default that `make run` uses with nothing set: SQLite in a fresh
# VAR_DIR, no Redis (CI's second pass). CI_EMBEDDED makes tests/conftest.py check that this is
# so, and lets only the tests that need PostgreSQL or Redis skip. The `slow` tests run once, in
# `make test`: they start their own processes on their own SQLite files, so a second run on the
# embedded default would prove nothing more (see pyproject.toml).
test-embedded: install chromium
	@var_dir=$$(mktemp -d) && trap 'rm -rf "$$var_dir"' EXIT && \
	env -u DATABASE_URL -u REDIS_URL CI_EMBEDDED=1 VAR_DIR="$$var_dir" \
	  $(BIN)/pytest $(XDIST) -m "not slow" $(PYTEST_ARGS)

# The everyday loop (under 3 minutes on two cores): the suite on SQLite in a fresh VAR_DIR without Redis,
# less the slow end-to-end tests and the browser tests; tests that need PostgreSQL or Redis skip.
test-fast: install
	@var_dir=$$(mktemp -d) && trap 'rm -rf "$$var_dir"' EXIT && \
	env -u DATABASE_URL -u REDIS_URL VAR_DIR="$$var_dir" \
	  $(BIN)/pytest $(XDIST) -m "not slow and not browser" $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/run.py

# The monthly invoice run over 1,000,000 ledger rows and the CSV export's memory at 10,000 and
# 100,000 invoices, on PostgreSQL in a database of its own (see bench/invoices.py).
bench-invoices: install
	$(BIN)/python bench/invoices.py

# The admin list pages (ledger, reward grants, claims, activity, invoices) at 500,000 rows, on
# PostgreSQL in a database of its own (see bench/admin_lists.py): each page's time and queries.
bench-admin: install
	$(BIN)/python bench/admin_lists.py

# Several nodes, one truth (README, "Topology"): two granian web nodes, two Celery workers and
# one beat on one PostgreSQL database, Redis and RabbitMQ, each of its own; GetReward through
# both nodes, the sweep, webhooks, a worker killed; prints the checks (see bench/cluster_check.py).
cluster-check: install
	$(BIN)/python bench/cluster_check.py

clean:
	rm -rf $(VENV) var staticfiles
