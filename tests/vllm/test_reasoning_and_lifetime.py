"""Reasoning on vLLM (the Qwen3 family's test, unchanged), then vLLM's lifetime: strictcall owns
the vLLM it started, so vLLM dying under it stops strictcall with a clear message and exit 1."""

from __future__ import annotations

import os
import signal

import pytest

from strictcall.demo import build_tiny_model
from tests.api.test_families import (
    CASES,
    test_every_mode_streaming_and_not,
    test_format_is_detected,
)
from tests.conftest import CACHE
from tests.vllm.conftest import start_vllm_server

__all__ = ["test_every_mode_streaming_and_not", "test_format_is_detected"]

QWEN3_CASE = next(c for c in CASES if c.family.name == "qwen3")


@pytest.fixture(scope="module")
def qwen3(request):
    model = build_tiny_model(CACHE / "qwen3-hd32", QWEN3_CASE.family, hidden_size=128)
    v = start_vllm_server(model)
    yield v
    v.strictcall.stop()


@pytest.fixture(scope="module")
def family(qwen3):
    return QWEN3_CASE, qwen3.strictcall


def test_zz_vllm_dying_stops_strictcall_with_a_clear_message(qwen3):
    """Last in this module (the server is gone after it)."""
    os.kill(qwen3.vllm_pid, signal.SIGKILL)
    code = qwen3.strictcall.proc.wait(timeout=120)
    log = qwen3.strictcall.log.read_text()
    assert code == 1, log[-2000:]
    assert f"the vLLM engine (pid {qwen3.vllm_pid}) exited with code -9; stopping" in log
