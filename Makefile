# The README's commands. Everything installs itself into .venv from pyproject.toml.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install demo test lint types workflows schemas unit lifecycle bench docs fmt local-up \
	local-down clean mutation realworld engine test-engine

help:
	@echo "make demo   - the pull-request plan of a sample change, offline (no cloud, no Pulumi CLI)"
	@echo "make test   - lint, types, workflow checks and the test suite"
	@echo "make bench  - benchmarks; figures go to docs/PERFORMANCE.md by hand"
	@echo "make docs   - regenerate generated docs (policies)"
	@echo "make mutation [MODULES=naming diff] - mutation testing (cosmic-ray mutants, coverage-selected tests), table in docs/TESTING.md"
	@echo "make engine - build the Pulumi CLI, language host and providers from Go modules into .engine/bin"
	@echo "make test-engine - the engine tests, for real, against .engine/bin"
	@echo "make local-up / local-down - a real deploy of the local stack (with .engine/bin)"
	@echo "make realworld DIR=<folder> [COMMIT=sha] - plan every Python Pulumi project under DIR offline;"
	@echo "                                results in docs/REALWORLD.md (not part of make test)"

$(STAMP): pyproject.toml
	@echo "Installing stackflow and its dependencies into $(VENV) (pulumi, pulumi-aws, pulumi-kubernetes,"
	@echo "pulumi-policy, boto3, test tools): a few minutes the first time (about 5 with an empty pip cache)."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --progress-bar off -e '.[dev]'
	touch $(STAMP)
	@echo "Installed into $(VENV)."

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/stackflow demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

workflows: $(STAMP)
	$(BIN)/stackflow workflows --check
	$(BIN)/zizmor --offline --no-progress .github/workflows
	$(BIN)/zizmor --offline --no-progress --persona auditor .github/workflows
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

schemas: $(STAMP)
	$(BIN)/check-jsonschema --schemafile stackflow/schemas/stackflow.schema.json stackflow.yaml
	$(BIN)/check-jsonschema --schemafile docs/plan.schema.json tests/render/golden/plan-*.json

unit: $(STAMP)
	$(BIN)/pytest -m "not engine and not lifecycle"

# The engine, built from Go modules (tools/engine/build.py); `make test` never builds it.
ENGINE_BIN := $(CURDIR)/.engine/bin

engine: $(STAMP)
	$(BIN)/python tools/engine/build.py

test-engine: $(STAMP)
	PATH="$(ENGINE_BIN):$$PATH" STACKFLOW_ENGINE_BIN="$(ENGINE_BIN)" $(BIN)/pytest -m engine

lifecycle: $(STAMP)
	$(BIN)/pytest -m lifecycle tests/lifecycle

test: lint types workflows schemas unit

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/synth_bench.py
	$(BIN)/python benchmarks/plan_bench.py
	$(BIN)/python benchmarks/policy_bench.py
	$(BIN)/python benchmarks/engine_events_bench.py
	$(BIN)/python benchmarks/reap_bench.py
	$(BIN)/python benchmarks/warm_bench.py

# Outside `make test`: mutation testing of the guarantee modules, incremental per module.
mutation: $(STAMP)
	$(BIN)/python mutation/run.py $(MUTATION_FLAGS) $(MODULES)

docs: $(STAMP)
	$(BIN)/stackflow policy docs --out docs/POLICIES.md

local-up: $(STAMP)
	PATH="$(ENGINE_BIN):$$PATH" $(BIN)/python -m stackflow.local up

local-down: $(STAMP)
	PATH="$(ENGINE_BIN):$$PATH" $(BIN)/python -m stackflow.local down

# The real-world tier: programs nobody here wrote (e.g. a pulumi/examples checkout), planned
# offline with the provider SDKs they import, in a venv of their own.
RW_VENV  := .venv-realworld
RW_STAMP := $(RW_VENV)/.installed-stamp

$(RW_STAMP): pyproject.toml
	$(PYTHON) -m venv $(RW_VENV)
	$(RW_VENV)/bin/python -m pip install -q --upgrade pip
	# --no-compile: byte-compiling the cloud SDKs (azure-native alone is 32,000 files) takes
	# longer than the run; a program compiles only the modules it imports.
	$(RW_VENV)/bin/python -m pip install -q --no-compile -e '.[realworld]'
	touch $(RW_STAMP)

realworld: $(RW_STAMP)
	@test -n "$(DIR)" || { echo "usage: make realworld DIR=<folder of Pulumi projects> [COMMIT=sha] [DUMP=<folder for each plan>]"; exit 2; }
	$(RW_VENV)/bin/python tests/realworld/run_corpus.py "$(DIR)" $(if $(COMMIT),--commit $(COMMIT)) $(if $(DUMP),--dump $(DUMP)) --out docs/REALWORLD.md

clean:
	rm -rf $(VENV) $(RW_VENV) .realworld-venvs .pytest_cache .mypy_cache .ruff_cache .hypothesis .stackflow .mutation .engine
