# BorrowDesk developer verbs. `make run` and `make test` work on a fresh machine with Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Local runs and tests use the development secret key; production sets SECRET_KEY (see README).
export BORROWDESK_DEV ?= 1

.PHONY: help run test e2e lint format bench clean stop-embedded

help:
	@echo "make run    - the app with demo data: web + worker + beat (embedded PostgreSQL/Redis unless DATABASE_URL/REDIS_URL); DEBUG=1 make run for development"
	@echo "make test   - the whole test suite against real PostgreSQL and Redis (embedded ones it starts are stopped after; KEEP_EMBEDDED=1 keeps them)"
	@echo "make lint   - ruff check, ruff format --check, mypy"
	@echo "make bench  - benchmarks in tests/bench (not part of CI's pass/fail)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "BorrowDesk needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	PORT=$(PORT) bin/run

test: $(VENV)/.installed-dev
	bin/ensure-browser
	DEBUG=0 STATIC_MANIFEST=0 bin/test $(PYTEST_ARGS)

e2e: $(VENV)/.installed-dev
	bin/ensure-browser
	DEBUG=0 STATIC_MANIFEST=0 bin/test tests/e2e $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy borrowdesk inventory compliance collateral treasury reconciliation requests_app

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.installed-dev
	DEBUG=0 STATIC_MANIFEST=0 $(BIN)/pytest tests/bench -p no:cacheprovider -o addopts="" -s $(PYTEST_ARGS)

stop-embedded: $(VENV)/.installed-run
	$(BIN)/python -m borrowdesk.embedded stop

clean:
	-$(BIN)/python -m borrowdesk.embedded stop
	rm -rf $(VENV) var
