# Customer Management API. `make run` and `make test` are all the set-up a new user does.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DYNAMODB_PORT ?= 8001
API_URL ?= http://$(HOST):$(PORT)

NODE_STAMP := node_modules/.installed

STAGE ?= dev
DIST := dist/$(STAGE)
# import and export work on `make run`'s DynamoDB Local unless STAGE is given (on the command line or in the
# environment): the STAGE ?= dev above is for deploying, and must not send a local file to a deployed table.
TRANSFER_STAGE := $(if $(filter file,$(origin STAGE)),local,$(STAGE))
TRANSFER = @test -n "$(FILE)" || { echo "error: name the file: make $@ FILE=customers.csv"; exit 1; }; \
	DYNAMODB_PORT=$(DYNAMODB_PORT) $(PY) -m scripts.transfer $@ "$(FILE)" --stage $(TRANSFER_STAGE) \
	$(if $(FORMAT),--format $(FORMAT))

.PHONY: help run test lint service unit integration e2e seed import export dynamodb-local chromium package deploy delete logs bench clean

# Variables a `##` comment may mention as $(NAME): help prints their values.
HELP_VARIABLES := HOST PORT DYNAMODB_PORT API_URL STAGE

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | $(foreach v,$(HELP_VARIABLES),$(v)='$($(v))') awk -F':.*## ' \
	  '{ text = $$2; while (match(text, /\$$\([A-Z_]+\)/)) \
	       text = substr(text, 1, RSTART - 1) ENVIRON[substr(text, RSTART + 2, RLENGTH - 3)] substr(text, RSTART + RLENGTH); \
	     printf "  make %-14s %s\n", $$1, text }'

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: '$(PYTHON)' not found: install Python 3.11+ (Debian: sudo apt-get install python3 python3-venv)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: Python 3.11+ is needed, found " + sys.version.split()[0] + ": install python3.11 (Debian: sudo apt-get install python3 python3-venv)")'
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { echo "error: Python's venv/ensurepip is missing: install it (Debian: sudo apt-get install python3-venv)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

dynamodb-local: $(STAMP) ## Fetch DynamoDB Local once (into .local/, ignored by git)
	@$(PY) -m scripts.tools jdk npm
	@$(PY) -m scripts.local.dynamodb_local >/dev/null

$(NODE_STAMP): package.json package-lock.json $(STAMP)
	@$(PY) -m scripts.tools npm
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

chromium: ## Debian's Chromium for the docs-page browser test (installed when run as root)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the docs-page test..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "error: 'chromium' not found: install it (Debian: sudo apt-get install chromium)"; exit 1; \
	  fi; }

run: dynamodb-local ## Start DynamoDB Local (data in .local/data), create tables, serve the API on $(API_URL)
	$(PY) -m scripts.local.stack --host $(HOST) --port $(PORT) --dynamodb-port $(DYNAMODB_PORT)

seed: ## Insert the 10 sample customers into the running API
	@$(PY) -m scripts.tools curl
	curl -sS -X POST $(API_URL)/seed; echo

import: $(STAMP) ## Upsert every row of FILE (CSV or JSON Lines) into STAGE (default: local); docs/import-export.md
	$(TRANSFER)

export: $(STAMP) ## Write every live customer of STAGE (default: local) to FILE [FORMAT=csv|jsonl]
	$(TRANSFER)

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

service: $(STAMP) ## Fast tests of the use cases on an in-memory repository (about a second)
	$(BIN)/pytest tests/service

unit: $(STAMP) $(NODE_STAMP) ## Unit tests (moto)
	$(BIN)/pytest tests/unit

integration: dynamodb-local ## Integration tests (DynamoDB Local)
	$(BIN)/pytest tests/integration

e2e: dynamodb-local $(NODE_STAMP) chromium ## End-to-end tests (live stack: README, newman, schemathesis, browser)
	$(BIN)/pytest tests/e2e

test: dynamodb-local $(NODE_STAMP) chromium lint ## Everything: lint, types, service, unit, integration, packaging and e2e tests
	@$(PY) -m scripts.tools curl
	$(BIN)/pytest tests

package: $(STAMP) ## CloudFormation/SAM template (functions, API, roles, tables, alarms) and zip for STAGE into dist/STAGE
	rm -rf $(DIST)
	$(PY) -m scripts.deploy.package $(STAGE) $(DIST)
	@ls -l $(DIST)

deploy: $(STAMP) ## Deploy STAGE (dev|prod) in one pass: data stack, chalice deploy, API settings, alarms; docs/operations.md
	$(PY) -m scripts.deploy deploy $(STAGE)

delete: $(STAMP) ## Remove STAGE's functions, API and alarms; dev's data too, prod's never (prod needs CONFIRM=prod)
	$(PY) -m scripts.deploy delete $(STAGE) $(if $(CONFIRM),--confirm $(CONFIRM))

logs: $(STAMP) ## Follow STAGE's logs [FUNCTION=api|record_changes|api-access]
	$(PY) -m scripts.deploy logs $(STAGE) $(if $(FUNCTION),--function $(FUNCTION))

bench: dynamodb-local ## Measure overhead, end-to-end ratios, cold start and package size into bench/results.md
	$(PY) -m bench.run

clean: ## Remove the virtualenv and caches (keeps DynamoDB Local and its data)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
