# BroadcastOps: `make run` starts the console, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The bundled cloud simulator runs while no Tencent credentials are set (the DEMO mode).
PROCESSES := web worker beat $(if $(TENCENTCLOUD_SECRET_ID),,cloudsim)

.PHONY: run test test-postgres install messages messages-extract lint typecheck audit format clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

# Compiles the committed .po files (Babel: no GNU gettext needed on the machine).
messages: install
	@$(BIN)/python -m broadcastops.i18n_catalogues compile

# After changing text an operator reads: rebuild the catalogues, then translate what it lists.
messages-extract: install
	$(BIN)/python -m broadcastops.i18n_catalogues extract

run: messages
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_admin
	$(BIN)/honcho start $(PROCESSES)

# ruff, then the layer rule (pyproject.toml [tool.importlinter]: a forbidden import fails).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

# mypy with the django-stubs and DRF plugins (pyproject.toml [tool.mypy]; cache in .mypy_cache).
typecheck: install
	$(BIN)/mypy

# Known vulnerabilities of the pinned dependencies (PyPI's advisory database: needs the network).
audit: install
	$(BIN)/pip-audit -r requirements.txt

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# pytest runs as two processes at once, each on half of the apps (about equal times): most
# of the suite waits on child processes, sockets and Chromium, and one process kept only 0.7
# of the 2 cores busy. The second process is BROADCASTOPS_TEST_SHARD=1 (its own Redis and
# PostgreSQL test databases: broadcastops/testing.py). Each line is prefixed with [1] or
# [2]; the target fails if either fails. PYTEST_ARGS go to both.
TEST_SHARD_0 := broadcastops
TEST_SHARD_1 := streaming errorlogs assistant scheduling failover ivs_scaling
define pytest_in_two
	@set -o pipefail; \
	( $(1) $(BIN)/pytest $(2) $(PYTEST_ARGS) $(TEST_SHARD_0) 2>&1 | sed -u 's/^/[1] /' ) & first=$$!; \
	( $(1) BROADCASTOPS_TEST_SHARD=1 $(BIN)/pytest $(2) $(PYTEST_ARGS) $(TEST_SHARD_1) 2>&1 \
	  | sed -u 's/^/[2] /' ) & second=$$!; \
	wait $$first; one=$$?; wait $$second; two=$$?; \
	echo "pytest exit codes: [1] $$one, [2] $$two"; [ $$one -eq 0 ] && [ $$two -eq 0 ]
endef

# The suite on SQLite (embedded mode); then, when CI provides the servers, again on
# PostgreSQL with Redis (scaled mode).
test: lint typecheck messages
	$(BIN)/python manage.py makemigrations --check --dry-run >/dev/null
	$(BIN)/python -m broadcastops.i18n_catalogues check
	$(call pytest_in_two,,)
	@if [ -n "$$TEST_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; fi

test-postgres: messages
	$(call pytest_in_two,DATABASE_URL="$$TEST_DATABASE_URL" REDIS_URL="$$TEST_REDIS_URL",-m "not browser")

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache .mypy_cache .import_linter_cache
