# Two commands for a fresh machine: `make run` and `make test`.
# Everything installs into .venv from the pinned requirement files.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8080
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install run test lint format clean seed

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: install ## Serve the API on http://127.0.0.1:$(PORT) with the demo users seeded
	PORT=$(PORT) $(BIN)/python -m tools.run_local

test: install ## Run the whole test suite
	$(BIN)/python -m pytest

lint: install ## Lint (ruff)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build
