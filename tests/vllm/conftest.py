"""The same end-to-end tests, with vLLM as the engine (docs/engines.md).

One strictcall with `--engine vllm` (and the vLLM it starts, ~35-80 s) serves every test in
this folder: the fixtures the shared tests use (demo_model, server, client, fault_server) are
overridden here, so `from tests.api.test_tool_choice import ...` runs those very tests on vLLM.
vLLM on CPU needs head_dim >= 32: the model is the demo model's family with hidden size 128.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest

from strictcall.demo import QWEN25, build_tiny_model
from tests.conftest import CACHE, ROOT, Server

VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"
STARTUP = 900  # seconds: vLLM on a loaded two-core machine


@dataclass
class VllmServer:
    strictcall: Server
    vllm_url: str
    vllm_pid: int


def vllm_model() -> Path:
    return build_tiny_model(CACHE / "qwen2.5-hd32", QWEN25, hidden_size=128)


def start_vllm_server(model: Path, *args: str) -> VllmServer:
    if not VLLM_PYTHON.exists():
        pytest.fail("no .venv-vllm: run `make vllm` (make test builds it first)")
    s = Server(model, "--engine", "vllm", *args, startup_timeout=STARTUP)
    found = re.search(r"vLLM \(pid (\d+)\) answers at (\S+);", s.log.read_text())
    assert found, s.log.read_text()[-2000:]
    return VllmServer(s, found.group(2), int(found.group(1)))


@pytest.fixture(scope="session")
def demo_model() -> Path:
    return vllm_model()


@pytest.fixture(scope="session")
def vllm_server(demo_model: Path) -> Iterator[VllmServer]:
    v = start_vllm_server(demo_model)
    yield v
    v.strictcall.stop()


@pytest.fixture(scope="session")
def server(vllm_server: VllmServer) -> Server:
    return vllm_server.strictcall


@pytest.fixture(scope="session")
def client(server: Server) -> openai.OpenAI:
    return server.client()


@pytest.fixture(scope="session")
def fault_server(server: Server) -> Server:
    return server
