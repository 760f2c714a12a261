# dms: `make demo` to try it, `make test` to run the whole suite on real PostgreSQL and Redis.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Test services on this machine (override in the environment).
PGHOST ?= 127.0.0.1
PGPORT ?= 5432
TEST_DATABASE_OWNER_URL ?= postgres://dms_owner:dms_owner@$(PGHOST):$(PGPORT)/dms
TEST_DATABASE_URL ?= postgres://dms_app:dms_app@$(PGHOST):$(PGPORT)/dms
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
TEST_ENV := DATABASE_OWNER_URL=$(TEST_DATABASE_OWNER_URL) DATABASE_URL=$(TEST_DATABASE_URL) \
	DMS_APP_DB_ROLE=dms_app REDIS_URL=$(TEST_REDIS_URL)

.PHONY: venv demo migrate seed serve test test-services bench lint worker beat clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# Migrations run as the schema owner when DATABASE_OWNER_URL is given; the app connects as DATABASE_URL.
migrate: venv
	if [ -n "$${DATABASE_OWNER_URL:-}" ]; then export DATABASE_URL="$$DATABASE_OWNER_URL"; fi; \
	$(PY) manage.py migrate --noinput

# The demo's facts: the 14 days before today (its goods receipts) and today (the simulated day, stock snapshot).
seed: venv
	$(PY) manage.py seed_demo
	$(PY) manage.py simulate_day --unless-orders
	$(PY) manage.py analytics_backfill --all-tenants --days 14

serve: venv
	$(PY) manage.py runserver 127.0.0.1:8000

demo: migrate seed serve

test-services:
	PGHOST=$(PGHOST) PGPORT=$(PGPORT) bash scripts/test_services.sh
	PGHOST=$(PGHOST) PGPORT=$(PGPORT) bash scripts/db_roles.sh

test: venv test-services lint
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

bench: venv test-services
	$(PY) -m pip install -q -r requirements-bench.txt
	$(TEST_ENV) DJANGO_SETTINGS_MODULE=dms.settings.local $(PY) -m bench.run

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy dms catalog pjp orders inventory invoicing dispatch analytics reconciliation mobile routing webhooks

worker: venv
	$(PY) -m celery -A dms worker -l info -Q default,optimisation

beat: venv
	$(PY) -m celery -A dms beat -l info

clean:
	rm -rf $(VENV) bench-results .pytest_cache
