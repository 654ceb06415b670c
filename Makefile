# Two commands for a fresh clone: `make demo` (the main job on the sample corpus) and `make test`.
# The always-on service: `make up` (Airflow on http://127.0.0.1:$(NEWSINGEST_SERVICE_PORT), prints the login),
# `make status`, `make down` (stops every process it started).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Embedded defaults: everything lives in ./var (Airflow metadata in SQLite, the DuckDB corpus, reports).
export NEWSINGEST_HOME ?= $(CURDIR)/var
export AIRFLOW_HOME ?= $(CURDIR)/var/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__LOGGING__LOGGING_LEVEL ?= WARNING
export GX_ANALYTICS_ENABLED := false
# The service (pipeline/service.py): API/UI port on 127.0.0.1; it also sets LocalExecutor, SimpleAuthManager and unpaused DAGs.
export NEWSINGEST_SERVICE_PORT ?= 8080
SAMPLE := $(CURDIR)/pipeline/sample_corpus

.PHONY: setup system-packages airflow-init demo test lint clean-var bench-dedup up down status

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml setup.py pipeline/dedup/_sketch.c pipeline/clean/_lines.c pipeline/mix64.h
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@# The reader of corpora of the single-file layout, written by DuckDB 2.0 (newsingest migrate-storage).
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade --target $(VENV)/legacy-duckdb duckdb==2.0.0
	@touch $@

airflow-init: setup
	@mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || (tail -30 $(AIRFLOW_HOME)/db-migrate.log; exit 1)

demo: airflow-init
	@echo "Running the news_ingest DAG on $(SAMPLE) ..."
	@$(BIN)/airflow dags test news_ingest -c '{"input": "$(SAMPLE)"}' > $(NEWSINGEST_HOME)/demo-dag-run.log 2>&1 \
		|| (tail -60 $(NEWSINGEST_HOME)/demo-dag-run.log; exit 1)
	@$(BIN)/newsingest report
	@echo "Airflow log: $(NEWSINGEST_HOME)/demo-dag-run.log"
	@echo "Try: $(BIN)/newsingest sql \"SELECT domain, title FROM canonical_articles\""

# The Airflow service: scheduler, dag-processor, triggerer and api-server under supervisord.
up: setup
	@$(BIN)/newsingest service up

down:
	@test -x $(BIN)/newsingest || { echo "no .venv: nothing was started"; exit 0; }; $(BIN)/newsingest service down

status:
	@test -x $(BIN)/newsingest || { echo "no .venv: not running"; exit 3; }; $(BIN)/newsingest service status

# Servers and the browser that tests start for real (Debian packages, installed when missing).
system-packages:
	@bash docker/system-packages.sh

test: setup system-packages
	$(BIN)/python -m pytest -q

bench-dedup: setup
	$(BIN)/python -m pipeline.benchmarks.dedup_quality
	$(BIN)/python -m pipeline.benchmarks.dedup_history

lint: setup
	$(BIN)/ruff check .

clean-var:
	rm -rf $(CURDIR)/var
