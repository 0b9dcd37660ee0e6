# Omnidesk — one command each. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

# Debian packages the voice engine and its tests use: the real SIP peers (sipp, baresip) and
# the prompt/audio tools (espeak-ng, sox). Installed only when one is missing.
SYSTEM_TOOLS := sipp baresip espeak-ng sox
SYSTEM_PACKAGES := sip-tester baresip espeak-ng sox
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install system-packages run test test-sqlite test-postgresql lint format lock clean

# Idempotent: re-installs only when pyproject.toml or the lock file changed.
install: system-packages $(STAMP)

system-packages:
	@missing=""; for t in $(SYSTEM_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages for:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES); \
	fi

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Migrates the database, loads the demo tenant on first start, and serves.
run: install
	$(BIN)/omnidesk serve --host $(HOST) --port $(PORT) --demo

# The whole suite, on SQLite and on PostgreSQL (OMNIDESK_TEST_BACKENDS=sqlite to skip PostgreSQL).
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

# Regenerates the pinned lock file from pyproject.toml.
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra bench --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info src/*.egg-info
