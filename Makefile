# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check clean serve postgres

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/cds rulesets check
	$(BIN)/cds evaluate fixtures/patients --as-of 2026-11-22 --format table

# The CDS Hooks service on http://127.0.0.1:8080/cds-services (HOST/PORT/WORKERS to change).
serve: $(STAMP)
	$(BIN)/cds serve --host $(or $(HOST),127.0.0.1) --port $(or $(PORT),8080) --workers $(or $(WORKERS),1)

test: $(STAMP)
	$(BIN)/python -m pytest

# A local PostgreSQL for the audit-trail tests: `eval "$$(make -s postgres)"` then `make test`.
postgres:
	@scripts/postgres.sh

clean:
	rm -rf $(VENV) build *.egg-info
