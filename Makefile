# transient-analytics: every command a developer or CI runs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# One Python everywhere: the Lambda runtime (python3.13), the layer's BuildMethod and this venv.
PYTHON_VERSION ?= 3.13.0
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The model environment: the SageMaker scikit-learn 1.9-0 image's Python minor version (the image
# does not pin the patch release) and libraries (requirements-model.txt). The model is trained,
# packaged, tested and served offline only there.
MODEL_PYTHON_VERSION ?= 3.12.1
MODEL_VENV := .venv-model
MODEL_PY := $(MODEL_VENV)/bin/python
MODEL_STAMP := $(MODEL_VENV)/.installed
#: The payload tests that run in the model environment (`make test-model`); the dev suite skips them.
MODEL_TESTS := tests/payloads/test_model_training.py tests/payloads/test_package.py \
	tests/payloads/test_inference_handlers.py tests/payloads/test_inference_fast_paths.py \
	tests/payloads/test_inference_model_fn.py tests/payloads/test_inference_module.py tests/payloads/test_batching.py \
	tests/payloads/test_train_entry.py
export PYTHONPATH := $(CURDIR):$(CURDIR)/layers/shared
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help venv venv-model demo demo-train demo-failure demo-day soak model payloads publish backfill bench bench-payloads bench-inference test pytest test-model unit statemachines checks catalog catalog-check parameters iam-lint contract integration lint typecheck format clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt
	@# PYENV_VERSION makes pyenv's python3.13 shim resolve; elsewhere python3.13 is found on PATH.
	@[ -x $(PY) ] || PYENV_VERSION=$(PYTHON_VERSION) python3.13 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP) ## create the development environment (.venv, Python 3.13, pinned)

$(MODEL_STAMP): requirements-model.txt
	@# The image's Python minor version; PYENV_VERSION makes pyenv's shim resolve it. An environment
	@# of another minor (the image moved) is made anew: its wheels would not install.
	@[ -x $(MODEL_PY) ] && $(MODEL_PY) -c 'import sys; sys.exit(f"{sys.version_info[0]}.{sys.version_info[1]}" != "$(basename $(MODEL_PYTHON_VERSION))")' \
		|| { rm -rf $(MODEL_VENV) && PYENV_VERSION=$(MODEL_PYTHON_VERSION) python$(basename $(MODEL_PYTHON_VERSION)) -m venv $(MODEL_VENV); }
	$(MODEL_PY) -m pip install --quiet --disable-pip-version-check -r requirements-model.txt
	$(MODEL_PY) -m model.env
	@touch $(MODEL_STAMP)

venv-model: $(MODEL_STAMP) ## create the model environment (.venv-model: the serving image's Python 3.12 and libraries)

demo: $(STAMP) $(MODEL_STAMP) ## the offline end-to-end run: both workflows, real Spark job, real model; writes out/demo/
	$(PY) -m demo $(if $(ROWS),--rows $(ROWS)) $(if $(SPARK_BACKEND),--spark-backend $(SPARK_BACKEND))

demo-day: $(STAMP) $(MODEL_STAMP) ## a day of 15-minute ticks offline: empty slots, an overlap, a quarantined slot, a late file; the ledger's counts
	$(PY) -m demo.day $(if $(TICKS),--ticks $(TICKS)) $(if $(ROWS),--rows $(ROWS)) $(if $(SPARK_BACKEND),--spark-backend $(SPARK_BACKEND))

demo-train: $(STAMP) $(MODEL_STAMP) ## the model kept current offline: real training jobs, registered, gated, promoted; the training report
	$(PY) -m demo.train

soak: $(STAMP) ## a simulated week under routine AWS faults (672 EMR ticks, daily transform ticks): the ledger's promises, in a table
	$(PY) -m demo.soak $(if $(DAYS),--days $(DAYS)) $(if $(SEED),--seed $(SEED))

demo-failure: $(STAMP) $(MODEL_STAMP) ## the same with a Spark step that fails: cluster terminated, notification shown
	$(PY) -m demo --fail-spark-step $(if $(ROWS),--rows $(ROWS))

model: $(MODEL_STAMP) ## train the abalone model and package model/artifacts/model.tar.gz (model environment)
	$(MODEL_PY) -m model.train
	$(MODEL_PY) -m model.package

payloads: $(STAMP) $(MODEL_STAMP) ## payload tests: Spark job (local Spark), publish (moto); then the model's
	$(PY) -m pytest tests/payloads -q
	$(MODEL_PY) -m pytest $(MODEL_TESTS) -q

test-model: $(MODEL_STAMP) ## the model's tests (training, package, inference, batching) in the model environment
	$(MODEL_PY) -m pytest $(MODEL_TESTS) -q

publish: $(STAMP) ## upload job, schema, training code and data, sample inputs: make publish STACK=name [REGION=] [SLOT=] [DRY_RUN=1]
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

bench-payloads: $(STAMP) bench-inference ## Spark job vs DuckDB (5M rows); handlers vs pipeline.predict (1M rows)
	$(PY) -m bench.bench_spark_vs_duckdb $(if $(BENCH_ROWS),--rows $(BENCH_ROWS))

bench-inference: $(MODEL_STAMP) ## handlers vs pipeline.predict (1M rows, 6 MB mini-batches) and cold start, model environment
	$(MODEL_PY) -m bench.bench_inference

test: lint typecheck checks pytest test-model ## the whole suite: ruff, mypy, static checks (SAM, cfn-lint, ASL, checkov, IAM lint, sam build), pytest, the model's tests

pytest: $(STAMP) $(MODEL_STAMP) ## every pytest suite (unit, property, functions, state machines, payloads, security)
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

parameters: $(STAMP) ## rewrite docs/parameters.md from template.yaml's Parameters (a test fails when they disagree)
	$(PY) -m tools.parameter_table --write

lint: $(STAMP) ## ruff (check and format check)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP) ## mypy, strict: the functions and the shared layer (what Lambda runs), then the twin and the demos
	$(VENV)/bin/mypy functions layers/shared/transient_analytics
	$(VENV)/bin/mypy offline demo
	$(VENV)/bin/mypy --strict bench/bench_slot_day.py bench/slot_day_*.py

format: $(STAMP) ## ruff format + autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean: ## remove build outputs (keeps the environments)
	rm -rf .aws-sam build out .bench .pytest_cache .hypothesis spark-warehouse model/artifacts
