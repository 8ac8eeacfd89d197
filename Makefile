# Two entry points; each sets up .venv (building Kwant once) before it runs.
.PHONY: run test setup lint bench clean-env docs

VENV ?= .venv
PY := $(VENV)/bin/python

setup:
	@MIRAGE_VENV=$(VENV) bash tools/bootstrap.sh

run: setup
	@$(VENV)/bin/mirage validate

# The documentation site (docs/_build/html): tutorials executed (cached per package-code digest,
# docs/conf.py), warnings and unresolved cross-references are errors.
SPHINX := $(PY) -m sphinx -b html -W --keep-going -n -q docs docs/_build/html

# Lint and the import contracts (pyproject.toml [tool.importlinter]), Kwant's own suite (the
# Kwant we built, tools/kwant_suite.py checks its skips), the documentation build, then ours
# (tests/test_docs.py opens the built site in headless Chromium).
test: setup
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/lint-imports
	@$(PY) tools/kwant_suite.py
	@echo "building the documentation (docs/_build/html)"
	@$(SPHINX)
	@$(PY) -m pytest -q

docs: setup
	@$(SPHINX)
	@echo "open docs/_build/html/index.html"

bench: setup
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean-env:
	rm -rf $(VENV)
