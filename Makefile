# Omnidesk — one command each. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

# Debian packages the voice engine and its tests use: the real SIP peers (sipp, baresip) and
# the prompt/audio tools (espeak-ng, sox); and Chromium, the browser the desk's browser tests
# drive (never a downloaded one); Dovecot, the real IMAP server the email channel's tests read
# (started by the tests with their own configuration, never as a system service); coturn, the
# TURN/STUN server the browser phone's ICE test relays through (likewise). Installed
# only when one is missing.
SYSTEM_TOOLS := sipp baresip espeak-ng sox chromium dovecot turnserver
SYSTEM_PACKAGES := sip-tester baresip espeak-ng sox chromium dovecot-imapd coturn
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The browser app (web/): npm ci when the lock changes, a build when its sources or the API
# change (the build checks that the API types generated from /openapi.json are current).
WEB := web
WEB_DEPS := $(WEB)/node_modules/.installed
WEB_BUILD := $(WEB)/dist/index.html
# The embeddable chat widget: a bundle of its own (web/widget/, vite.widget.config.ts), built
# by the same `npm run build` and served at /widget.js.
WIDGET_BUILD := $(WEB)/dist/widget.js
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/widget $(WEB)/scripts -type f 2>/dev/null) \
	$(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/vite.widget.config.ts $(WEB)/tsconfig.json
PY_SOURCES := $(shell find src -name '*.py' 2>/dev/null)
WEB_ENV := OMNIDESK_PYTHON=$(abspath $(BIN)/python)

.PHONY: install system-packages node run test test-sqlite test-postgresql lint format lock clean \
	web web-types web-test

# Idempotent: re-installs only when pyproject.toml or the lock file changed, rebuilds the web
# app only when its sources changed.
install: system-packages $(STAMP) web

system-packages:
	@missing=""; for t in $(SYSTEM_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages for:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES); \
	fi

node:
	@command -v npm >/dev/null || { echo "Node.js 20.19+ and npm are needed to build web/ (https://nodejs.org)"; exit 1; }
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=19)?0:1)' \
	  || { echo "Node.js $$(node --version) is too old to build web/: 20.19 or newer is needed"; exit 1; }

$(WEB_DEPS): $(WEB)/package.json $(WEB)/package-lock.json | node
	cd $(WEB) && npm ci --no-audit --no-fund
	touch $(WEB_DEPS)

$(WEB_BUILD): $(WEB_DEPS) $(WEB_SOURCES) $(PY_SOURCES) $(STAMP)
	cd $(WEB) && $(WEB_ENV) npm run build

# `npm run build` makes the widget right after the desk; this only rebuilds a missing one.
$(WIDGET_BUILD): $(WEB_BUILD)
	test -f $@ || (cd $(WEB) && npm run build-widget)

web: $(WEB_BUILD) $(WIDGET_BUILD)

# After an API change: regenerate web/src/api/schema.d.ts from the app's /openapi.json.
web-types: $(STAMP) $(WEB_DEPS)
	cd $(WEB) && $(WEB_ENV) npm run api-types

web-test: $(WEB_DEPS)
	cd $(WEB) && npm test

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Migrates the database, loads the demo tenant on first start, and serves.
run: install
	$(BIN)/omnidesk serve --host $(HOST) --port $(PORT) --demo

# The whole suite, on SQLite and on PostgreSQL (OMNIDESK_TEST_BACKENDS=sqlite to skip PostgreSQL),
# the web app's unit tests, and its browser tests (tests/e2e/desk, in Debian's Chromium).
test: install
	cd $(WEB) && npm test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

# Regenerates the pinned lock file from pyproject.toml.
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra bench --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info src/*.egg-info \
		$(WEB)/node_modules $(WEB)/dist
