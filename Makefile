# Two entry points; each sets up .venv (building Kwant once) before it runs.
.PHONY: run test setup lint bench clean-env

VENV ?= .venv
PY := $(VENV)/bin/python

setup:
	@bash tools/bootstrap.sh

run: setup
	@$(VENV)/bin/mirage validate

test: setup
	@$(VENV)/bin/ruff check .
	@$(PY) -m pytest -q

bench: setup
	@$(PY) benchmarks/run_all.py

clean-env:
	rm -rf $(VENV)
