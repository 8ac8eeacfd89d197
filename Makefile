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
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean-env:
	rm -rf $(VENV)
