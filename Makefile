# Two commands on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q -c constraints.txt
DEMO := .cache/demo-model
HOST ?= 127.0.0.1
PORT ?= 8000

SOAK_SECONDS ?= 300
SOAK_CLIENTS ?= 64

.PHONY: serve test bench soak lint format demo clean

$(VENV)/.base: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -e .
	touch $@

$(VENV)/.dev: $(VENV)/.base
	$(PIP) -e '.[dev,bench]'
	touch $@

demo: $(VENV)/.base
	$(PY) -m strictcall build-demo $(DEMO)

serve: demo
	$(VENV)/bin/strictcall serve $(DEMO) --served-model-name strictcall-demo --host $(HOST) --port $(PORT)

test: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q

bench: $(VENV)/.dev
	$(PY) -m bench

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
