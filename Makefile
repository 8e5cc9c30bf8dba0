# Kefu: `make run` (demo on http://127.0.0.1:8000) and `make test` (SQLite and PostgreSQL).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PG_URL ?= postgres://postgres@127.0.0.1:5432/kefu

.PHONY: run test test-sqlite test-postgres lint bench bench-data install chromium postgres clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/kefu run

# Debian's chromium for the browser tests (Playwright's own download is not reachable here),
# and CJK fonts so the screenshots show Chinese.
chromium:
	@command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi 'cjk' || { \
	  echo "Installing chromium and CJK fonts with apt-get…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

postgres:
	@scripts/ensure-postgres

test: install chromium postgres
	KEFU_MODE=test $(BIN)/pytest -q
	KEFU_MODE=test KEFU_DATABASE_URL=$(PG_URL) $(BIN)/pytest -q

test-sqlite: install
	KEFU_MODE=test $(BIN)/pytest -q

test-postgres: install postgres
	KEFU_MODE=test KEFU_DATABASE_URL=$(PG_URL) $(BIN)/pytest -q

lint: install
	$(BIN)/ruff check src benchmarks

# KEFU_BENCH_TICKETS (default 20000), KEFU_DATABASE_URL, BENCH_ARGS="--only queue": benchmarks/run.py
bench: install
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# Benchmark data: `kefu demo --tickets N`, N = KEFU_BENCH_TICKETS (default 100000) over three
# years, into the configured database: PostgreSQL when KEFU_DATABASE_URL=postgres://… is set
# (create the database first), else SQLite in KEFU_DATA_DIR (default var/bench, where `make
# bench` looks; not the `make run` database). One million: make bench-data
# KEFU_BENCH_TICKETS=1000000 (minutes). Interrupted, the same command continues where it stopped.
bench-data: install
	KEFU_DATA_DIR=$${KEFU_DATA_DIR:-$(CURDIR)/var/bench} $(BIN)/kefu migrate --verbosity 0
	KEFU_DATA_DIR=$${KEFU_DATA_DIR:-$(CURDIR)/var/bench} $(BIN)/kefu demo --tickets $(or $(KEFU_BENCH_TICKETS),100000)

clean:
	rm -rf $(VENV) var
