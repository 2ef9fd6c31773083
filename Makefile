# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
# Each creates .venv with Python 3.12 when it is missing and installs the pinned
# environment from requirements.lock, then the project itself (editable, no deps).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SCENARIO ?= south_asia_2025
ARGS ?=
export PYENV_VERSION ?= 3.12.1

.PHONY: setup run test test-fast lock clean

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

test: $(STAMP)
	$(PY) -m pytest -q $(ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" $(ARGS)

# Re-pin the whole environment from pyproject's direct pins (needs network access to PyPI).
lock:
	rm -rf .venv-lock && python3.12 -m venv .venv-lock
	.venv-lock/bin/pip install -q '.[test]' setuptools
	.venv-lock/bin/pip freeze --exclude crypto-abm > requirements.lock
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) runs .pytest_cache
