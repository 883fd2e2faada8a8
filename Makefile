# make serve: set up, then run the API with an in-process worker (SQLite + local storage).
# make test:  set up from scratch (venv, pinned packages, tiny test weights, a running PostgreSQL, Chromium), then run the suite.
# make check: the fast lane, for while you work: the suite without real servers, browsers or multi-process faults.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= ./data
STAMP := $(VENV)/.install-stamp

.PHONY: install services serve test check lock clean

install: $(STAMP)

# Re-runs only when the pins or the package metadata change, so it is idempotent and cheap.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

serve: install
	$(BIN)/reelserve serve --data-dir $(DATA_DIR)

# What the tests talk to for real: PostgreSQL, and Debian's Chromium for the browser tests (the S3
# server is started by the tests themselves).
services:
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-chromium.sh

test: install services
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: install
	bash scripts/ensure-postgres.sh
	$(BIN)/python -m pytest -m "not whole" -q $(PYTEST_ARGS)

# Refreshes requirements.lock from what is installed in the venv.
lock:
	grep '^#' requirements.lock > requirements.lock.new
	$(BIN)/pip freeze --exclude-editable | sed 's/+cpu//' >> requirements.lock.new && mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache
