# Quick start: `make demo` (sets up, runs the embedded default graph) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.dvfo-installed
PYTEST_FLAGS ?= -q

.PHONY: setup demo test test-fast test-slow lint bench clean

$(STAMP): requirements.txt requirements-dev.txt src/dvfo_core/setup.py src/dvfo_edge/setup.py src/dvfo_cloud/setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch and torchvision are pinned in requirements.txt, in the same pip command as
	# everything that depends on them (DESIGN.md §6).
	$(BIN)/pip install -q -r requirements.txt -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -e src/dvfo_core -e src/dvfo_edge -e src/dvfo_cloud
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/dvfo demo

lint: setup
	$(BIN)/ruff check .

test-fast: setup
	$(BIN)/pytest $(PYTEST_FLAGS) -m "not slow"

test-slow: setup
	$(BIN)/pytest $(PYTEST_FLAGS) -m slow || [ $$? -eq 5 ]  # 5: no slow test collected

test: lint test-fast test-slow

bench: setup
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build install log .pytest_cache .ruff_cache
