# Two entry points: `make demo` (the app with demo data) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: demo test system-deps lint format clean

# Debian's python3 has no venv module until python3-venv is installed.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV) && $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/appeals demo

# The browser and letter tests need Debian's chromium and LibreOffice Writer.
system-deps:
	@command -v chromium >/dev/null && command -v soffice >/dev/null || { \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq --no-install-recommends chromium libreoffice-writer-nogui; }

# The suite runs on SQLite, then again on PostgreSQL (skipped with the reason if no server
# answers, except in CI).
POSTGRES_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

test: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@echo "== tests on SQLite =="
	$(BIN)/pytest
	@echo "== tests on PostgreSQL ($(POSTGRES_TEST_URL)) =="
	APPEALS_TEST_DATABASE=$(POSTGRES_TEST_URL) $(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
