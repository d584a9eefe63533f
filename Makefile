# The two commands a newcomer needs: `make run` and `make test`.
# Each sets up what it needs by itself, idempotently (venv + pip, npm ci).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
# The browser tests (tests/web) drive Debian's Chromium through Playwright's executable_path.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test setup browser bench lint clean

run: setup
	$(BIN)/cybercover up

# Unit, contract and service tests on both cores (a file stays on one worker: module fixtures
# are shared); the browser tests in their own process (Playwright's sync API keeps an event loop
# running on its thread for the session, which asyncio code in other files cannot share); then
# the end-to-end tests one at a time (real processes, timing-sensitive). Not the last two side by
# side: under load the e2e stacks' start (120 s limit) and Playwright's 5 s waits both failed.
test: setup
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not e2e" --ignore=tests/web
	$(BIN)/pytest -m "not e2e" tests/web
	$(BIN)/pytest -m e2e

setup: $(PY_STAMP) $(NPM_STAMP) browser

# Chromium and a font for Chinese text (the cover page's zh terms), installed when missing
# (waiting up to 5 min for dpkg's lock: another install on the machine must not fail this one).
browser:
	@test -x $(CHROMIUM) && fc-list :lang=zh | grep -q . || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	  -o DPkg::Lock::Timeout=300 chromium fonts-liberation fonts-wqy-microhei; }

$(PY_STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

bench: setup
	$(BIN)/python scripts/bench_gas.py

lint: setup
	$(BIN)/ruff check contracts service oracles scripts tests

clean:
	rm -rf $(VENV) node_modules
