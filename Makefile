# ketacare — the two set-up commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: `make run` installs only what the app needs; `make test` adds the dev extra
# (test, lint and type-check toolchain, about 1.2 GB) on top.
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test install lint typecheck pytest coverage clean bench-latest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e .
	@touch $(RUN_STAMP)

# The dev extra is installed without bytecode (--no-compile): pip would compile every module
# of the test, lint and type-check tools, most of which no run imports (16 of the 64 s that a
# fresh venv took, benchmarks/README.md "Suite, eleventh session"). The targets below that run
# them compile what they import, once, into $(VENV)/pycache (TOOLS_ENV).
$(DEV_STAMP): $(RUN_STAMP)
	$(BIN)/pip install --quiet --no-compile -c constraints.txt -e '.[dev]'
	@touch $(DEV_STAMP)

install: $(DEV_STAMP)

run: $(RUN_STAMP)
	$(BIN)/ketacare db upgrade
	$(BIN)/ketacare demo seed
	$(BIN)/ketacare demo generate --patients 60 --seed 1 --if-empty
	$(BIN)/ketacare serve

# The tools and the suite's some 150 Python processes (workers, CLI commands, servers) reuse
# compiled bytecode, kept in the venv and out of the work tree, even where the environment
# sets PYTHONDONTWRITEBYTECODE (about 5 s of CPU a worker's collection, 0.3 s a subprocess).
# Set on the commands themselves, not as target variables: those would reach the pip installs
# of the stamps too, and the runtime packages' bytecode belongs beside them, for `make run`.
TOOLS_ENV := PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(abspath $(VENV))/pycache

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(TOOLS_ENV) $(BIN)/lint-imports

typecheck: $(DEV_STAMP)
	$(TOOLS_ENV) $(BIN)/mypy

# pytest-xdist workers: one per core plus one by default (each has its own SQLite file and
# PostgreSQL database); `make test PYTEST_JOBS=0` runs in one process. With one per core the
# cores sat idle 13% of the run while tests waited for Chromium, a server or a subprocess; the
# extra worker fills that time (benchmarks/README.md, "Suite, eighth session"). worksteal: an
# idle worker takes tests from another's queue, so one big file no longer leaves a core idle
# at the end of the run as loadfile did; conftest.py starts the long tests first.
PYTEST_JOBS ?= $(shell $(PYTHON) -c "import os; print(len(os.sched_getaffinity(0)) + 1 if hasattr(os, 'sched_getaffinity') else (os.cpu_count() or 1) + 1)")
pytest: $(DEV_STAMP)
	bash scripts/install-test-extras.sh
	$(TOOLS_ENV) $(BIN)/pytest -n $(PYTEST_JOBS) --dist worksteal $(PYTEST_ARGS)

test: lint typecheck pytest

# Line coverage of the clinical rules (ketacare.domain), with the lines no test reaches;
# fails below 100% (issue 16.9).
coverage: $(DEV_STAMP)
	bash scripts/install-test-extras.sh
	$(TOOLS_ENV) $(BIN)/pytest -n $(PYTEST_JOBS) --dist worksteal --cov=ketacare.domain --cov-report=term-missing --cov-fail-under=100 $(PYTEST_ARGS)

# A throwaway venv with the newest dependencies pyproject.toml allows (no constraints.txt),
# then a short load run: shows what `pip install ketacare` gets today (issue 15.2b).
LATEST_VENV ?= /tmp/ketacare-bench-latest
BENCH_ARGS ?= --rate 200 --seconds 15 --patients 50
bench-latest:
	rm -rf $(LATEST_VENV)
	$(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/pip install --quiet --upgrade pip
	$(LATEST_VENV)/bin/pip install --quiet . httpx2
	@$(LATEST_VENV)/bin/pip freeze | grep -iE '^(uvicorn|uvloop|httptools|h11|starlette|fastapi|anyio|sqlalchemy|psycopg|pydantic)=='
	cd benchmarks && $(LATEST_VENV)/bin/python load.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var/*.db var/*.db-* .mypy_cache .ruff_cache .pytest_cache
