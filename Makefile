# The two set-up commands: `make run` and `make test` (both create .venv on a fresh machine).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test test-fast realtools lint typecheck bench bench-probe demo clean install

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(STAMP)

install: $(STAMP)

## run: start the daemon + dashboard on SQLite, auditing the bundled demo services
run: $(STAMP)
	$(BIN)/auditor demo

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

## realtools: the real migration tools tests/realtools drives (Debian packages as root, npm)
realtools:
	tests/realtools/install.sh

## test: lint, type-check and run the whole test suite
test: $(TEST_STAMP) lint typecheck realtools
	$(BIN)/pytest -q -ra $(PYTEST_ARGS)

## test-fast: the same without the slow real-tool suites (browser, crash loops, served daemons)
test-fast: $(TEST_STAMP) lint typecheck
	$(BIN)/pytest -q -ra -m "not slow" $(PYTEST_ARGS)

## realapps: the real web servers and frameworks tests/realapps runs (Debian packages, npm)
.PHONY: realapps
realapps:
	tests/realapps/install.sh
test: realapps

bench: $(TEST_STAMP)
	benchmarks/ensure-tools.sh
	$(BIN)/python benchmarks/probe_compare.py
	$(BIN)/python benchmarks/run.py

## bench-probe: only the side-by-side probe table (ours vs blackbox_exporter, same work, pinned CPUs)
bench-probe: $(TEST_STAMP)
	benchmarks/ensure-tools.sh
	$(BIN)/python benchmarks/probe_compare.py

clean:
	rm -rf $(VENV) demo-data .pytest_cache .mypy_cache .ruff_cache
