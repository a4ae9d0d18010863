# ketacare — the two set-up commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint typecheck pytest coverage clean

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

# Line coverage of the clinical rules (ketacare.domain), with the lines no test reaches.
coverage: $(STAMP)
	bash scripts/install-test-extras.sh
	$(BIN)/pytest --cov=ketacare.domain --cov-report=term-missing $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var/*.db var/*.db-* .mypy_cache .ruff_cache .pytest_cache
