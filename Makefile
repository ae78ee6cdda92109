# transient-analytics: every command a developer or CI runs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# One Python everywhere: the Lambda runtime (python3.13), the layer's BuildMethod and this venv.
PYTHON_VERSION ?= 3.13.0
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR):$(CURDIR)/layers/shared
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help venv demo demo-failure demo-day model payloads publish backfill bench bench-payloads test pytest unit statemachines checks catalog catalog-check iam-lint contract integration lint typecheck format clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt
	@# PYENV_VERSION makes pyenv's python3.13 shim resolve; elsewhere python3.13 is found on PATH.
	@[ -x $(PY) ] || PYENV_VERSION=$(PYTHON_VERSION) python3.13 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP) ## create the development environment (.venv, Python 3.13, pinned)

demo: $(STAMP) ## the offline end-to-end run: both workflows, real Spark job, real model; writes out/demo/
	$(PY) -m offline.demo $(if $(ROWS),--rows $(ROWS))

demo-day: $(STAMP) ## a day of 15-minute ticks offline: empty slots, an overlap, a quarantined slot, a late file; the ledger's counts
	$(PY) -m offline.demo_day $(if $(TICKS),--ticks $(TICKS)) $(if $(ROWS),--rows $(ROWS))

demo-failure: $(STAMP) ## the same with a Spark step that fails: cluster terminated, notification shown
	$(PY) -m offline.demo --fail-spark-step $(if $(ROWS),--rows $(ROWS))

model: $(STAMP) ## train the abalone model and package model/artifacts/model.tar.gz
	$(PY) -m model.train
	$(PY) -m model.package

payloads: $(STAMP) ## payload tests: Spark job (local Spark), model, publish (moto)
	$(PY) -m pytest tests/payloads -q

publish: $(STAMP) ## upload job, schema, model and sample inputs: make publish STACK=name [REGION=] [SLOT=] [DRY_RUN=1]
	$(if $(STACK),,$(error STACK is required: make publish STACK=name))
	$(PY) -m tools.publish --stack-name $(STACK) $(if $(REGION),--region $(REGION)) $(if $(SLOT),--slot $(SLOT)) $(if $(DRY_RUN),--dry-run)

backfill: $(STAMP) ## queue a slot range again, start one run: make backfill STACK=… PIPELINE=emr|transform FROM=… TO=… [REGION=] [DRY_RUN=1]
	$(if $(STACK),,$(error STACK is required: make backfill STACK=name PIPELINE=emr FROM=2026-11-25T20:00Z TO=2026-11-25T21:00Z))
	$(if $(PIPELINE),,$(error PIPELINE is required: emr or transform))
	$(if $(FROM),,$(error FROM is required: the first slot, e.g. 2026-11-25T20:00Z))
	$(if $(TO),,$(error TO is required: the end of the range, exclusive, e.g. 2026-11-25T21:00Z))
	$(PY) -m tools.backfill --stack-name $(STACK) --pipeline $(PIPELINE) --from $(FROM) --to $(TO) $(if $(REGION),--region $(REGION)) $(if $(DRY_RUN),--dry-run)

bench: bench-payloads ## every benchmark beside its baseline (payloads, orchestration, a simulated day of slots)
	$(PY) -m bench.bench_orchestration
	$(PY) -m bench.bench_slot_day

bench-payloads: $(STAMP) ## Spark job vs DuckDB (5M rows); handlers vs pipeline.predict (1M rows)
	$(PY) -m bench.bench_spark_vs_duckdb $(if $(BENCH_ROWS),--rows $(BENCH_ROWS))
	$(PY) -m bench.bench_inference

test: lint typecheck checks pytest ## the whole suite: ruff, mypy, static checks (SAM, cfn-lint, ASL, checkov, IAM lint, sam build), then pytest

pytest: $(STAMP) ## every pytest suite (unit, property, functions, state machines, payloads, security)
	$(PY) -m pytest

unit: $(STAMP) ## fast tests: the layer's rules and the handlers
	$(PY) -m pytest tests/unit tests/property tests/functions -q

statemachines: $(STAMP) ## execute both .asl.json files offline (moto engine + MockConfigFile test cases)
	$(PY) -m pytest tests/statemachines -q

contract: $(STAMP) ## every request the state machines send, validated against the AWS API models (botocore)
	$(PY) -m pytest tests/contract -q

iam-lint: ## parliament + policy_sentry over every policy of the translated template snapshot (.venv-iamlint)
	bash checks/static.sh --iam-lint-only

integration: $(STAMP) ## the opt-in suite against a deployed stack: make integration STACK=name [REGION=]
	$(if $(STACK),,$(error STACK is required: make integration STACK=name))
	AWS_SAM_STACK_NAME=$(STACK) $(if $(REGION),AWS_REGION=$(REGION) AWS_DEFAULT_REGION=$(REGION)) $(PY) -m pytest tests/integration -v -rs

checks: ## static checks: sam validate --lint, cfn-lint (+serverless rules), asl-validator, checkov, sam build
	bash checks/static.sh

catalog: $(STAMP) ## rewrite the Glue table columns in template.yaml from jobs/schemas/characters.json and inference.py
	$(PY) -m tools.glue_catalog --write

catalog-check: $(STAMP) ## fail when template.yaml's Glue tables disagree with the schema file or inference.py
	$(PY) -m tools.glue_catalog --check

lint: $(STAMP) ## ruff (check and format check)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP) ## mypy, strict, on the functions and the shared layer (what Lambda runs)
	$(VENV)/bin/mypy functions layers/shared/transient_analytics

format: $(STAMP) ## ruff format + autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean: ## remove build outputs (keeps the environments)
	rm -rf .aws-sam build out .bench .pytest_cache .hypothesis spark-warehouse model/artifacts
