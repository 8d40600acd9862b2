# The two commands: `make setup` (idempotent; seconds when up to date) and `make test`.
# See README.md, "Quick start". PYTHON must be a Python 3.11 interpreter.
PYTHON ?= $(or $(shell command -v python3.11 2>/dev/null),python3)
VENV_PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: setup test lint clean-venv

setup:
	@$(PYTHON) tools/setup_env.py

test: setup
	$(VENV_PY) -m pytest -q --durations=10 $(PYTEST_ARGS)

lint: setup
	$(VENV_PY) -m ruff check .

clean-venv:
	rm -rf .venv
