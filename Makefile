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

.PHONY: help venv test pytest unit statemachines checks lint format clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt
	@# PYENV_VERSION makes pyenv's python3.13 shim resolve; elsewhere python3.13 is found on PATH.
	@[ -x $(PY) ] || PYENV_VERSION=$(PYTHON_VERSION) python3.13 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP) ## create the development environment (.venv, Python 3.13, pinned)

test: checks pytest ## the whole suite: static checks (SAM, cfn-lint, ASL, checkov, sam build), then pytest

pytest: $(STAMP) ## every pytest suite (unit, property, functions, state machines, payloads, security)
	$(PY) -m pytest

unit: $(STAMP) ## fast tests: the layer's rules and the handlers
	$(PY) -m pytest tests/unit tests/property tests/functions -q

statemachines: $(STAMP) ## execute both .asl.json files offline (moto engine + MockConfigFile test cases)
	$(PY) -m pytest tests/statemachines -q

checks: ## static checks: sam validate --lint, cfn-lint (+serverless rules), asl-validator, checkov, sam build
	bash checks/static.sh

lint: $(STAMP) ## ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP) ## ruff format + autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean: ## remove build outputs (keeps the environments)
	rm -rf .aws-sam build out .bench .pytest_cache .hypothesis spark-warehouse
