# Two entry points; each sets up .venv (building Kwant once) before it runs.
.PHONY: run test setup lint bench clean-env

VENV ?= .venv
PY := $(VENV)/bin/python

setup:
	@MIRAGE_VENV=$(VENV) bash tools/bootstrap.sh

run: setup
	@$(VENV)/bin/mirage validate

# Lint and the import contracts (pyproject.toml [tool.importlinter]), Kwant's own suite (the
# Kwant we built, tools/kwant_suite.py checks its skips), then ours.
test: setup
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/lint-imports
	@$(PY) tools/kwant_suite.py
	@$(PY) -m pytest -q

bench: setup
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean-env:
	rm -rf $(VENV)
