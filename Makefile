# Two commands on a fresh machine: `make run` and `make test`. Python 3.11 to 3.13: e.g.
# `make run PYTHON=python3.13 VENV=.venv313` (a venv per interpreter).
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test smoke check clean serve postgres bench fuzz

# On Python 3.13 durable-rules is first built from its sdist with patches/ applied
# (scripts/durable-rules.sh; nothing to do on 3.11 and 3.12).
$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	scripts/durable-rules.sh $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The rulesets checked, then a few named test patients on one screen and where to go next
# (fixtures/demo.yaml). Every test case: `cds fixtures build`, `cds evaluate build/fixtures`.
run: $(STAMP)
	$(BIN)/cds rulesets check --quiet
	$(BIN)/cds demo

# The CDS Hooks service on http://127.0.0.1:8080/cds-services (HOST/PORT/WORKERS to change).
serve: $(STAMP)
	$(BIN)/cds serve --host $(or $(HOST),127.0.0.1) --port $(or $(PORT),8080) --workers $(or $(WORKERS),1)

# Benchmarks against the budgets of issue 5: bench/results/<date>.json and a table (< 10 min).
bench: $(STAMP)
	$(BIN)/python -m bench

# Every test, with what the tests need: a PostgreSQL server for the audit trail and Debian's
# Chromium for the review pages (both installed with apt-get when missing, then started). The
# tests run on one worker process per core (pytest-xdist), a test file on one worker, so its
# module fixtures (a built wheel, a running server, a browser) are built once; the longest files
# first (tests/conftest.py), so the workers finish together.
test: $(STAMP)
	scripts/chromium.sh
	eval "$$(scripts/postgres.sh)" && $(BIN)/python -m pytest -n auto --dist loadfile --no-loadscope-reorder

# The property-based tests of the HTTP API at length: 300 examples per endpoint (FUZZ_EXAMPLES),
# new ones each run (`make test` runs 12 each, the same every time). A few minutes.
fuzz: $(STAMP)
	CDS_FUZZ_RANDOM=1 CDS_FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),300) $(BIN)/python -m pytest -q -p no:cacheprovider \
		--durations=5 tests/test_fuzz_http.py

# What CI runs on a second interpreter (`make smoke PYTHON=python3.13 VENV=.venv313`): the
# fixtures through the CLI, the engine's durable-rules tests, the fixture and hooks tests.
smoke: run
	rm -rf build/fixtures
	$(BIN)/cds fixtures build --out build/fixtures
	$(BIN)/cds evaluate build/fixtures --as-of 2026-11-22 --format table > build/fixtures.txt
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_engine.py tests/test_engine_negation.py \
		tests/test_fixtures.py tests/test_hooks_*.py

# A local PostgreSQL for the audit-trail tests alone: `eval "$$(make -s postgres)"`.
postgres:
	@scripts/postgres.sh

clean:
	rm -rf $(VENV) .venv313 build *.egg-info
