# redprop: the two commands a new user needs are `make demo` and `make test` (see README.md).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Every service is a separately installable plugin package under services/.
SERVICES := $(sort $(wildcard services/*))
PIP_INSTALL := $(BIN)/pip install --quiet --disable-pip-version-check -c requirements/constraints.txt

.PHONY: venv demo test chart-test bench run migrate lint clean

$(STAMP): requirements/constraints.txt requirements/dev.txt shared/pyproject.toml $(wildcard services/*/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements/dev.txt
	# `redprop` is a namespace package: shared/ and every services/* package each add to it.
	$(PIP_INSTALL) -e ./shared $(addprefix -e ./,$(SERVICES))
	touch $@

## venv: create .venv with the pinned dependencies and every service installed (editable)
venv: $(STAMP)

## demo: start the whole suite on embedded defaults with the sample district; Ctrl-C stops it
demo: venv
	scripts/ensure-services.sh rabbitmq
	$(BIN)/redprop demo

## test: run the whole test suite against the local RabbitMQ and PostgreSQL
test: venv
	scripts/ensure-services.sh rabbitmq postgresql
	$(BIN)/pytest

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
	rm -rf $(VENV) var
