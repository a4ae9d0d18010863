# ketacare — the two set-up commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint typecheck pytest clean bench-latest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/ketacare db upgrade
	$(BIN)/ketacare demo seed
	$(BIN)/ketacare demo generate --patients 60 --seed 1 --if-empty
	$(BIN)/ketacare serve

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	bash scripts/install-test-extras.sh
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

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
