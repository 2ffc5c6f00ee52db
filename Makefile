# Two entry points for a newcomer: `make build` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: build test lint check goldens bench clean

# Python environment: the package in editable mode with its test extra.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Node tools for the interop tests (ical.js, Thunderbird's parser), pinned by the lock file.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the ical.js interop tests will be skipped (CI installs it)"; fi

build: $(BIN)/.installed
	$(BIN)/pipeline build

check: $(BIN)/.installed
	$(BIN)/pipeline check

lint: $(BIN)/.installed
	$(BIN)/ruff check pipeline tests benchmarks

test: $(BIN)/.installed node_modules/.installed lint
	$(BIN)/pytest -n 2

# Rewrite tests/golden/ from the current output; review `git diff tests/golden` after.
goldens: $(BIN)/.installed
	$(BIN)/pytest --update-goldens -p no:randomly

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) node_modules output .pytest_cache .ruff_cache
