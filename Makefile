# ketacare — the two set-up commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: `make run` installs only what the app needs; `make test` adds the dev extra
# (test, lint and type-check toolchain, about 1.2 GB) on top. A third, for `make run` only:
# the installed packages compiled to bytecode.
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
COMPILED_STAMP := $(VENV)/.compiled
# The machine's cores (those this process may use): mypy's workers, compileall's, pytest's.
CORES := $(shell $(PYTHON) -c "import os; print(len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1)")

.PHONY: run test install lint typecheck pytest coverage clean bench-latest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Both installs leave out bytecode (--no-compile). The tools and the suite keep their own in
# $(VENV)/pycache (TOOLS_ENV), compiled as they import, and read none beside the packages:
# pip compiled every module of the toolchain, most of which no run imports (16 of the 64 s
# that a fresh venv took, benchmarks/README.md "Suite, eleventh session"), and the runtime
# packages (5 to 13 s more, "Suite, twelfth session"), for nothing in `make test`. `make run`
# compiles the installed packages once, on every core ($(COMPILED_STAMP); in a venv that
# `make test` made, the toolchain too: 17 s once, against 6 s for the runtime alone).
$(RUN_STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile -c constraints.txt -e .
	@touch $(RUN_STAMP)

$(DEV_STAMP): $(RUN_STAMP)
	$(BIN)/pip install --quiet --no-compile -c constraints.txt -e '.[dev]'
	@touch $(DEV_STAMP)

$(COMPILED_STAMP): $(RUN_STAMP)
	env -u PYTHONPYCACHEPREFIX $(BIN)/python -m compileall -q -j $(CORES) \
		"$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
	@touch $(COMPILED_STAMP)

install: $(DEV_STAMP)

run: $(RUN_STAMP) $(COMPILED_STAMP)
	$(BIN)/ketacare db upgrade
	$(BIN)/ketacare demo seed
	$(BIN)/ketacare demo generate --patients 60 --seed 1 --if-empty
	$(BIN)/ketacare serve

# The tools and the suite's some 150 Python processes (workers, CLI commands, servers) reuse
# compiled bytecode, kept in the venv and out of the work tree, even where the environment
# sets PYTHONDONTWRITEBYTECODE (about 5 s of CPU a worker's collection, 0.3 s a subprocess).
# Set on the commands themselves, not as target variables, which the stamps' pip runs would
# inherit; `make run`'s compile clears the prefix, so its bytecode lands beside the packages.
TOOLS_ENV := PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(abspath $(VENV))/pycache

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(TOOLS_ENV) $(BIN)/lint-imports

# mypy's parallel mode, a worker a core: a fresh type check took 31 s on one core and takes 18
# s on two ("Suite, twelfth session").
typecheck: $(DEV_STAMP)
	$(TOOLS_ENV) $(BIN)/mypy --num-workers $(CORES)

# pytest-xdist workers: one per core plus one by default (each has its own SQLite file and
# PostgreSQL database); `make test PYTEST_JOBS=0` runs in one process. With one per core the
# cores sat idle 13% of the run while tests waited for Chromium, a server or a subprocess; the
# extra worker fills that time (benchmarks/README.md, "Suite, eighth session"). worksteal: an
# idle worker takes tests from another's queue, so one big file no longer leaves a core idle
# at the end of the run as loadfile did; conftest.py starts the long tests first.
PYTEST_JOBS ?= $(shell echo $$(( $(CORES) + 1 )))
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
