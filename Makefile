# Two commands that work on a fresh machine: `make run` and `make test`.
# Both create .venv and install the project on first use (and again when pyproject.toml changes).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint typecheck migrations-check pytest bench bench-share-ping bench-scale bench-ingest bench-fanout bench-writes bench-units bench-services clean

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "PLN Coach needs Python 3.11 or newer; run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(INSTALLED)

## Start the bot: on Discord with a token (config.toml or DISCORD_TOKEN), else the offline sandbox.
run: $(INSTALLED)
	$(BIN)/pln-coach run

## Everything CI checks: lint, types, migration drift, and the test suite.
test: lint typecheck migrations-check pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALLED)
	$(BIN)/mypy

migrations-check: $(INSTALLED)
	@tmp=$$(mktemp -d) && url="sqlite+aiosqlite:///$$tmp/check.sqlite3" && \
	PLN_DATABASE__URL=$$url $(BIN)/pln-coach db upgrade >/dev/null && \
	PLN_DATABASE__URL=$$url $(BIN)/alembic check && rm -rf $$tmp

# Three workers on two cores: most tests wait on a bot, the emulator or a database, not on a
# core (3 min 12 s against 4 min 31 s with two). Tests that measure wall-clock time run alone
# afterwards, so a neighbour cannot slow them down.
pytest: $(INSTALLED)
	$(BIN)/pytest -n 3 -m "not timing"
	$(BIN)/pytest -m timing

## PLN Coach's hot commands and passive ingestion against a bare discord.py bot making the same
## Discord calls, as separate processes: throughput, first response, paced latency; one line each.
## PostgreSQL: make bench BENCH_ARGS="--database-url postgresql+asyncpg://..."
bench: $(INSTALLED)
	$(BIN)/python -m bench.hot_commands $(BENCH_ARGS)

## The older single-process /share against a bare /ping (bot and emulator in one event loop).
bench-share-ping: $(INSTALLED)
	$(BIN)/python -m bench.share_vs_ping

## /progress and /connect suggest at 100,000 members and up to 1,000,000 ledger events.
bench-scale: $(INSTALLED)
	$(BIN)/python -m bench.progress_at_scale

## Passive ingestion through the gateway: PLN Coach against a bare discord.py bot, 3 processes.
bench-ingest: $(INSTALLED)
	$(BIN)/python -m bench.ingest_gateway

## The weekly challenge to 5,000 servers at once under Discord's 50 requests/s, against the floor.
bench-fanout: $(INSTALLED)
	$(BIN)/python -m bench.weekly_fanout

## One /share and one Useful mark's database work without Discord: statements, CPU (server's too).
bench-writes: $(INSTALLED)
	$(BIN)/python -m bench.write_path $(BENCH_ARGS)

## Taking and giving back a pooled connection: directly (as the bot does) against the async engine.
bench-units: $(INSTALLED)
	$(BIN)/python -m bench.unit_checkout $(BENCH_ARGS)

## The hot commands' domain services alone: CPU per call (the database server's too on PostgreSQL).
bench-services: $(INSTALLED)
	$(BIN)/python -m bench.service_cpu $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
