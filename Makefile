# tmescope — the one entry point: make demo | make test | make lint | make bench
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export MPLBACKEND ?= agg

.PHONY: demo test lint typecheck pytest bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@ $(VENV)/.installed-dev $(VENV)/.installed

## Run the main job on the bundled real cohort and write the HTML report to demo_output/
demo: $(VENV)/.installed
	$(BIN)/tmescope demo -o demo_output

## Lint, type-check and run the test suite
test: lint typecheck pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

pytest: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

## Benchmarks, side by side with the peer tools in the same run
bench: $(VENV)/.installed-bench
	$(BIN)/python -m benchmarks

clean:
	rm -rf demo_output build dist .pytest_cache .mypy_cache .ruff_cache
