"""The engine flags on the command line: vLLM's engine flags need --engine vllm (one line naming
the flag otherwise), pass through to vLLM as written, and strictcall's own never do."""

from __future__ import annotations

import argparse

import pytest

from strictcall.vllm_compat import vllm_args
from tests.api.test_cli import _one_line, _serve
from tests.conftest import free_port


@pytest.mark.parametrize(
    "flag",
    [
        ("--tensor-parallel-size", "2"),
        ("-tp", "2"),
        ("--pipeline-parallel-size", "2"),
        ("--distributed-executor-backend", "ray"),
        ("--gpu-memory-utilization", "0.8"),
        ("--enable-prefix-caching",),
        ("--enforce-eager",),
        ("--quantization", "awq"),
    ],
    ids=lambda f: f[0],
)
def test_a_vllm_engine_flag_needs_the_vllm_engine(demo_model, flag):
    line = _one_line(_serve("serve", str(demo_model), *flag))
    name = "--tensor-parallel-size" if flag[0] == "-tp" else flag[0]
    assert name in line and "needs --engine vllm" in line, line


def test_an_unknown_flag_is_refused_with_the_embedded_engine(demo_model):
    result = _serve("serve", str(demo_model), "--no-such-flag", "3")
    assert result.returncode == 2 and "unrecognized arguments: --no-such-flag 3" in result.stderr


def test_engine_flags_are_refused_with_an_existing_vllm(demo_model):
    url = f"http://127.0.0.1:{free_port()}"
    line = _one_line(_serve("serve", str(demo_model), "--engine-url", url, "-tp", "2"))
    assert "--tensor-parallel-size" in line and "vllm serve" in line, line
    line = _one_line(_serve("serve", str(demo_model), "--engine", "embedded", "--engine-url", url))
    assert "--engine-url" in line and "--engine vllm" in line, line


def test_nothing_at_the_engine_url_is_one_line(demo_model):
    url = f"http://127.0.0.1:{free_port()}"
    line = _one_line(_serve("serve", str(demo_model), "--engine-url", url))
    assert "no vLLM server answers at " + url in line, line


def test_a_missing_vllm_venv_is_one_line(demo_model, tmp_path):
    python = str(tmp_path / "no-venv" / "bin" / "python")
    result = _serve("serve", str(demo_model), "--engine", "vllm", "--vllm-python", python)
    line = _one_line(result)
    assert python in line and "make vllm" in line, line


def test_vllm_gets_its_engine_flags_and_the_shared_ones_never_ours():
    args = argparse.Namespace(
        **{f"vllm_{k}": None for k in ("tensor_parallel_size", "pipeline_parallel_size")},
        max_model_len=4096,
        max_num_seqs=None,
        dtype="bfloat16",
        trust_remote_code=False,
        seed=7,
    )
    args.vllm_tensor_parallel_size = "4"
    from strictcall.vllm_compat import ENGINE_FLAGS, engine_dest

    for f in ENGINE_FLAGS:
        if not hasattr(args, engine_dest(f)):
            setattr(args, engine_dest(f), False if f.takes == "flag" else None)
    args.vllm_enable_prefix_caching = True
    out = vllm_args(args, ["--swap-space", "4", "--some-new-vllm-flag"])
    assert out == [
        "--tensor-parallel-size",
        "4",
        "--enable-prefix-caching",
        "--max-model-len",
        "4096",
        "--dtype",
        "bfloat16",
        "--seed",
        "7",
        "--swap-space",
        "4",
        "--some-new-vllm-flag",
    ]
