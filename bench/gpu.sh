#!/usr/bin/env bash
# bench/vllm.py on a CUDA machine, in one command: `bench/gpu.sh` from a clean clone.
# Installs vllm==0.33.0 (CUDA) into .venv-vllm-gpu, strictcall into .venv, fetches the real
# default model, and runs plain vLLM against strictcall on the same vLLM, with tensor
# parallelism across every GPU when there is more than one. Results: bench/results/vllm-gpu.*
# Extra arguments go to bench/vllm.py (e.g. --requests 64 --concurrency 16).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nvidia-smi >/dev/null || { echo "bench/gpu.sh: no nvidia-smi: this is for a CUDA machine" >&2; exit 2; }
GPUS=$(nvidia-smi -L | grep -c '^GPU')
[ "$GPUS" -ge 1 ] || { echo "bench/gpu.sh: nvidia-smi lists no GPU" >&2; exit 2; }
PYTHON=${PYTHON:-python3}
VENV_GPU=.venv-vllm-gpu
if [ ! -f "$VENV_GPU/.ok" ]; then
  "$PYTHON" -m venv "$VENV_GPU"
  "$VENV_GPU/bin/python" -m pip install -q vllm==0.33.0
  touch "$VENV_GPU/.ok"
fi
make .venv/.dev model
TP=()
if [ "$GPUS" -gt 1 ]; then TP=(--vllm-arg=--tensor-parallel-size --vllm-arg="$GPUS"); fi
echo "bench/gpu.sh: $GPUS GPU(s); vLLM args: ${TP[*]:-none}"
PYTHONPATH=. .venv/bin/python -m bench.vllm --vllm-python "$VENV_GPU/bin/python" \
  --out vllm-gpu "${TP[@]}" "$@"
