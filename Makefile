# Two commands: `make demo` runs a remiss round end to end on embedded defaults;
# `make test` runs ruff, mypy, the docs build and pytest. Each creates its own virtual environment.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The venv holds exactly what uv.lock lists (the project, editable, and its dev extra), plus
# pip and uv, which installs the rest; it is made anew whenever the lock or its inputs change.
# uv.toml says how uv reaches PyPI. After changing a dependency in pyproject.toml, run
# `.venv/bin/uv lock` and commit uv.lock with it: --locked refuses a lock that is out of date.
UV_VERSION := 0.13.8

export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: demo test lint typecheck docs pytest bench clean

$(STAMP): pyproject.toml uv.lock uv.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --quiet --locked --inexact --extra dev \
		--python $(BIN)/python
	touch $(STAMP)

# `make demo REMISS_DEMO_MAIL=graph` runs the same round through the Graph backend against the
# loopback Graph server of the tests (docs/operations/graph.md); make passes the variable on.
demo: $(STAMP)
	$(BIN)/python scripts/demo.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The documentation site (mkdocs.yml, docs/); strict: a broken link or any warning fails.
# Built inside .venv so that nothing new appears in the working tree.
# NO_MKDOCS_2_WARNING: mkdocs-material's banner about its end of life (May 2027, successor
# Zensical), printed on every build; noted in CHANGELOG.md, not a fault of the docs.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir $(VENV)/site

# Two independent groups side by side (scripts/pytest_groups.py): Chromium and subprocesses
# in one, the in-process tests in the other. `.venv/bin/pytest` runs all in one.
pytest: $(STAMP)
	$(BIN)/python scripts/pytest_groups.py

test: lint typecheck docs pytest

# Every benchmark: each prints its table and writes its figures to bench/results/*.json.
# portal.py loads the page with wrk (Debian's wrk) where installed, else with a slower
# load generator in Python; it and sweep.py need PostgreSQL as the tests do.
bench: $(STAMP)
	@command -v wrk >/dev/null || echo "bench/portal.py: wrk is not installed (apt-get install -y wrk); using its Python load generator" >&2
	mkdir -p bench/results
	$(BIN)/python bench/fanout.py --json > bench/results/fanout.json
	$(BIN)/python bench/ews_fanout.py --json bench/results/ews_fanout.json
	$(BIN)/python bench/graph_fanout.py --json bench/results/graph_fanout.json
	$(BIN)/python bench/mime.py --json bench/results/mime.json
	$(BIN)/python bench/sweep.py --json bench/results/sweep.json
	$(BIN)/python bench/compile.py --json bench/results/compile.json
	$(BIN)/python bench/portal.py --json bench/results/portal.json
	$(BIN)/python bench/start.py --json bench/results/start.json
	$(BIN)/python bench/extract.py
	$(BIN)/python bench/reading.py

clean:
	rm -rf $(VENV) data/demo .pytest_cache .mypy_cache .ruff_cache
