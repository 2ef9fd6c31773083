# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
# Each creates .venv with Python 3.12 when it is missing and installs the pinned
# environment from requirements.lock, then the project itself (editable, no deps).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SCENARIO ?= south_asia_2025
ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 8765
CHROMIUM ?= /usr/bin/chromium
export PYENV_VERSION ?= 3.12.1

.PHONY: setup run test test-fast lint dashboard chromium lock clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@if [ ! -x $(PY) ]; then \
	  PYBIN=$$(command -v python3.12 || true); \
	  if [ -z "$$PYBIN" ]; then echo "error: python3.12 not found (install it, e.g. with pyenv: pyenv install 3.12.1)" >&2; exit 1; fi; \
	  echo "creating $(VENV) with $$PYBIN"; "$$PYBIN" -m venv $(VENV); fi
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/crypto-abm run $(SCENARIO) $(ARGS)

test: $(STAMP) chromium lint
	$(PY) -m pytest -q $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" $(ARGS)

# The dashboard, served on 127.0.0.1 only; it needs no internet access. `crypto-abm dashboard`
# runs Solara on viz/app.py (production mode, no browser opened, no version check, no telemetry).
dashboard: $(STAMP)
	$(VENV)/bin/crypto-abm dashboard --host $(HOST) --port $(PORT)

# The browser test drives Debian's Chromium (Playwright cannot download a browser here).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; fi

# Re-pin the whole environment from pyproject's direct pins (needs network access to PyPI).
lock:
	rm -rf .venv-lock && python3.12 -m venv .venv-lock
	.venv-lock/bin/pip install -q '.[test,ema]' setuptools wheel
	.venv-lock/bin/pip freeze --exclude crypto-abm > requirements.lock
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) runs .pytest_cache
