# Two commands on a fresh machine: `make demo` and `make test`. Each sets up .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/clearinghouse demo

lint: $(STAMP)
	$(BIN)/ruff check clearinghouse formats pricing jobs tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q tests

bench: $(STAMP)
	$(BIN)/pytest -q benchmarks --benchmark-only -s

clean:
	rm -rf $(VENV) demo .benchmarks
