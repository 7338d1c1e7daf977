# 水电计量收费平台 — set-up, demo, tests and benchmarks.
# `make demo` and `make test` are the two commands of the README; both
# call `make install` first, which is idempotent.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAO_VERSION := 8.0.11
SAO_DIR := build/sao

.PHONY: install system venv sao assets demo test test-sqlite test-postgresql test-browser bench clean

install: system venv sao assets

system:
	@bash scripts/install_system.sh

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

sao: $(SAO_DIR)/.installed $(SAO_DIR)/custom.js $(SAO_DIR)/custom.css

$(SAO_DIR)/.installed:
	bash scripts/install_sao.sh $(SAO_VERSION) $(SAO_DIR)
	touch $@

# The suite's own touches of the web client (its name in the title bar).
$(SAO_DIR)/custom.%: sao/custom.% $(SAO_DIR)/.installed
	cp $< $@

# Front-end assets of the H5 pages (WeUI, ECharts), pinned by package-lock.
assets: addons/meter_wechat/static/node_modules/.package-lock.json

addons/meter_wechat/static/node_modules/.package-lock.json: addons/meter_wechat/static/package-lock.json
	npm ci --prefix addons/meter_wechat/static --no-audit --no-fund --silent

demo: install
	bash scripts/demo.sh

test: install
	$(PY) tests/run_suite.py

bench: install
	$(PY) tests/run_bench.py

clean:
	rm -rf build data
