# OutageWatch developer commands. `make run` and `make test` are all a newcomer needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run dev test lint format setup

# Development mode is explicit: the settings default to production behaviour.
export DEBUG ?= 1

# The set-up steps (migrate, catalog, official sources, static files) run inside devstack, once
# Redis answers, so that loading the catalog can announce its edits.
run: $(STAMP)
	$(BIN)/python -m outagewatch.devstack

# The same stack with Django's development server, which reloads on code changes.
dev: $(STAMP)
	$(BIN)/python -m outagewatch.devstack --reload

setup: $(STAMP)
	$(BIN)/python -m outagewatch.devstack --setup-only

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Reinstall only when requirements.txt changes.
$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@
