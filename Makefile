# The two README commands: `make demo` (the CPU demo) and `make test`; `make setup` (idempotent) runs first.
# See README.md, "Quick start". PYTHON must be a Python 3.11 interpreter.
PYTHON ?= $(or $(shell command -v python3.11 2>/dev/null),python3)
VENV_PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: setup demo demo-crowd test lint clean-venv

setup:
	@$(PYTHON) tools/setup_env.py

demo: setup
	$(VENV_PY) tools/demo.py

# The NMS dilemma in crowds (README "Crowded scenes"): FCOS at NMS 0.3-0.8 vs o2f/POTO, 3 seeds.
demo-crowd: setup
	$(VENV_PY) tools/demo.py --crowd

test: setup
	$(VENV_PY) -m pytest -q --durations=10 $(PYTEST_ARGS)

lint: setup
	$(VENV_PY) -m ruff check .

clean-venv:
	rm -rf .venv
