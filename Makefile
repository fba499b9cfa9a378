# redprop: the two commands a new user needs are `make demo` and `make test` (see README.md).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Every service is a separately installable plugin package under services/.
SERVICES := $(sort $(wildcard services/*))
PIP_INSTALL := $(BIN)/pip install --quiet --disable-pip-version-check -c requirements/constraints.txt

.PHONY: venv demo test fault-test rabbitmq4-test chart-test bench run migrate lint clean web browser

$(STAMP): requirements/constraints.txt requirements/dev.txt shared/pyproject.toml $(wildcard services/*/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements/dev.txt
	# `redprop` is a namespace package: shared/ and every services/* package each add to it.
	$(PIP_INSTALL) -e ./shared $(addprefix -e ./,$(SERVICES))
	touch $@

## venv: create .venv with the pinned dependencies and every service installed (editable)
venv: $(STAMP)

## web: the workbench (web/): npm ci, its component tests' deps and the static build the gateway serves at /app/
WEB_STAMP := web/node_modules/.installed
$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web/dist/index.html: $(WEB_STAMP) $(shell find web/src -type f 2>/dev/null) web/index.html web/vite.config.ts
	cd web && npx vite build

web: web/dist/index.html

## browser: Debian's headless chromium for the workbench's browser tests (tests/web)
browser:
	scripts/ensure-browser.sh

## demo: start the whole suite on embedded defaults with the sample district; Ctrl-C stops it
demo: venv web
	scripts/ensure-services.sh rabbitmq
	$(BIN)/redprop demo

## test: run the whole test suite against the local RabbitMQ and PostgreSQL
test: venv web browser
	scripts/ensure-services.sh rabbitmq postgresql
	cd web && npx vitest run
	$(BIN)/pytest

## fault-test: the slow fault tests: a three-node RabbitMQ cluster of their own loses a node under load
fault-test: venv
	scripts/ensure-services.sh rabbitmq postgresql
	$(BIN)/pytest -m cluster tests/faults/test_cluster.py -s

# Fetched once (Debian trixie's .deb files, pinned in scripts/rabbitmq4.lock), then reused.
RABBITMQ4_DIR ?= $(HOME)/.cache/redprop/rabbitmq4
# Quorum queues and their arguments (management API), the poison message dead-lettered after the delivery
# limit with its reason, the classic -> quorum migration, failover over several addresses, and ticketing's
# submit -> dispatch -> resolve -> rate round trip.
RABBITMQ4_TESTS := tests/shared/test_quorum_queues.py tests/shared/test_queue_migration.py \
	tests/shared/test_broker_addresses.py tests/ticketing/test_flow.py

## rabbitmq4-test: a subset of the messaging tests on RabbitMQ 4.x (a node of its own; the machine's broker is 3.10)
rabbitmq4-test: venv
	scripts/ensure-services.sh postgresql
	scripts/rabbitmq4.sh fetch $(RABBITMQ4_DIR)
	REDPROP_TEST_RABBITMQ=4 REDPROP_TEST_RABBITMQ4_DIR=$(RABBITMQ4_DIR) $(BIN)/pytest -q $(RABBITMQ4_TESTS)

## chart-test: render, lint and validate the Helm chart (also part of `make test`)
chart-test: venv
	$(BIN)/pytest tests/chart

## bench: run the benchmarks and write docs/benchmarks.md
bench: venv
	scripts/ensure-services.sh rabbitmq postgresql
	$(BIN)/python -m bench

## run: migrate and run every installed service with ./redprop.yaml or the embedded defaults
run: venv
	$(BIN)/redprop migrate --all
	$(BIN)/redprop run --all

lint: venv
	$(BIN)/ruff check shared services tests bench

clean:
	rm -rf $(VENV) var web/node_modules web/dist
