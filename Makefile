# JouleLedger: the two commands are `make demo` and `make test`; each sets itself up.
# Re-running is fast: every install step is guarded by a stamp that depends on its inputs.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BROWNIE_VENV := .venv-brownie
PY := $(VENV)/bin/python
SOLC_VERSION := 0.8.37
# Brownie and py-solc-x find the solc-js adapter here as a "solc-v<version>" binary.
export SOLCX_BINARY_PATH := $(CURDIR)/.solcx
# Native anvil from npm (no node wrapper in between, so stopping it stops it) and ganache.
ANVIL_DIR = $(firstword $(wildcard $(CURDIR)/node_modules/@foundry-rs/anvil-*/bin))
export PATH := $(ANVIL_DIR):$(CURDIR)/node_modules/.bin:$(PATH)

CONTRACT_SOURCES := $(shell find contracts -name '*.sol' 2>/dev/null)
CHAIN ?= anvil

.PHONY: help setup build demo test test-python test-contracts lint slither fmt bench bench-gas \
	bench-sdk bench-oracle bench-e2e clean test-invariants dashboard chromium bench-dashboard

help:
	@echo "make demo    run the end-to-end scenario on a local anvil (sets itself up)"
	@echo "make test    run every test: lint, pytest, brownie and forge invariants (sets itself up)"
	@echo "make lint    ruff, mypy and slither"
	@echo "make bench   benchmarks into bench/results/ (gas, ...)"
	@echo "make build   compile contracts/ into the SDK's artifacts"
	@echo "make clean   remove environments, node_modules and build output"

# --- set-up -------------------------------------------------------------------------------

setup: $(VENV)/.stamp node_modules/.stamp $(BROWNIE_VENV)/.stamp .solcx/solc-v$(SOLC_VERSION)

$(VENV)/.stamp: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "JouleLedger needs Python 3.11 or newer; set PYTHON=python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

node_modules/.stamp: package.json package-lock.json
	@command -v npm >/dev/null || { echo "JouleLedger needs Node.js 20+ with npm on PATH"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Brownie pins old versions of web3's dependencies, so it lives in an environment of its own.
$(BROWNIE_VENV)/.stamp: requirements-brownie.txt
	@test -x $(BROWNIE_VENV)/bin/python || $(PYTHON) -m venv $(BROWNIE_VENV)
	$(BROWNIE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BROWNIE_VENV)/bin/python -m pip install --quiet -r requirements-brownie.txt
	@touch $@

.solcx/solc-v$(SOLC_VERSION): scripts/solc/solc-adapter.js
	@mkdir -p .solcx
	@printf '#!/bin/sh\nexec node "%s/scripts/solc/solc-adapter.js" "$$@"\n' "$(CURDIR)" > $@
	@chmod +x $@

# --- build --------------------------------------------------------------------------------

build: $(VENV)/.stamp node_modules/.stamp
	$(PY) scripts/build_contracts.py

# --- the two commands ---------------------------------------------------------------------

demo: setup build
	$(PY) scripts/demo.py --chain $(CHAIN)

# The demo scenario on a devnet that stays up, with the dashboard served on it until Ctrl-C
# (then the demo stops its chain and nodes). PORT picks the dashboard's port.
dashboard: setup build
	$(PY) scripts/demo_screens.py $(if $(PORT),--port $(PORT))

# The set-up steps (two virtual environments, npm ci, chromium) do not depend on each other
# and mostly wait on downloads and disk, so a fresh machine runs them side by side; the
# tests then run one suite at a time.
test:
	@$(MAKE) --no-print-directory -j4 setup chromium
	@$(MAKE) --no-print-directory build lint test-python test-contracts test-invariants

# Debian's chromium for the dashboard's browser tests: installed when missing and running as
# root (CI does); otherwise those tests skip with a one-line reason.
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the dashboard's browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
			>/dev/null) || echo "chromium did not install: the browser tests will skip"; \
	else \
		echo "chromium is missing and this is not root: the dashboard's browser tests will skip"; \
	fi

test-python: $(VENV)/.stamp node_modules/.stamp
	$(PY) -m pytest

# Brownie launches its own anvil on a free port, under a network entry made for this run
# (brownie 1.22 keeps networks in ~/.brownie and cannot take a port on the command line;
# brownie-config.yaml cannot override network settings: it raises TypeError). A fixed port
# would let a second run attach to the first's chain, which then reverts under it.
test-contracts: $(BROWNIE_VENV)/.stamp node_modules/.stamp .solcx/solc-v$(SOLC_VERSION)
	@port=$$($(PYTHON) -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'); \
	net=jl-anvil-$$port; \
	$(BROWNIE_VENV)/bin/brownie networks add Development $$net cmd=anvil \
		host=http://127.0.0.1 port=$$port accounts=10 gas_limit=12000000 base_fee=0 >/dev/null || exit 1; \
	$(BROWNIE_VENV)/bin/brownie test tests/contracts --network $$net --confcutdir tests/contracts \
		-W ignore::FutureWarning; rc=$$?; \
	$(BROWNIE_VENV)/bin/brownie networks delete $$net >/dev/null; exit $$rc

# Forge invariant suites (tests/forge), compiled offline through the solc-js adapter
# (foundry.toml); figures go to bench/results/invariants.json. MATCH=glob picks files.
test-invariants: build node_modules/.stamp .solcx/solc-v$(SOLC_VERSION)
	$(PYTHON) scripts/invariants.py $(if $(MATCH),--match-path '$(MATCH)')

lint: $(VENV)/.stamp slither
	$(VENV)/bin/ruff check sdk oracle indexer dashboard scripts tests bench
	$(VENV)/bin/ruff format --check sdk oracle indexer dashboard scripts tests bench
	$(VENV)/bin/mypy

# Slither cannot drive solc-js itself: we compile, write a Hardhat-format build-info and let
# it read that. Medium and high findings fail the build; each one accepted in the code says
# why next to a `slither-disable` comment.
slither: $(VENV)/.stamp node_modules/.stamp
	$(PY) scripts/build_contracts.py --build-info build/slither
	cd build/slither && ../../$(VENV)/bin/slither . --compile-force-framework hardhat --hardhat-ignore-compile \
		--filter-paths node_modules --exclude-informational --exclude-low \
		--exclude-optimization --fail-medium 2>&1 | grep -v -e "^npm " -e "hardhat"; \
		exit $${PIPESTATUS[0]}

fmt: $(VENV)/.stamp
	$(VENV)/bin/ruff format sdk oracle indexer dashboard scripts tests bench
	$(VENV)/bin/ruff check --fix sdk oracle indexer dashboard scripts tests bench

# --- benchmarks (never asserted by tests; figures go to bench/results/) -------------------

bench: bench-gas bench-sdk bench-oracle bench-e2e bench-dashboard
	$(PY) bench/summary.py

bench-gas: setup build
	$(PY) bench/gas.py

bench-sdk: setup build
	$(PY) bench/sdk.py

bench-oracle: setup build
	$(PY) bench/oracle.py

bench-e2e: setup build
	$(PY) bench/e2e.py

# Indexing speed into SQLite and PostgreSQL, and page latency over 100,000 indexed jobs.
bench-dashboard: setup build
	$(PY) bench/dashboard.py

clean:
	rm -rf $(VENV) $(BROWNIE_VENV) node_modules .solcx build reports demo-output \
		.pytest_cache .mypy_cache .ruff_cache .hypothesis
