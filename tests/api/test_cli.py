"""The command line as a vLLM user meets it: one-line refusals, vLLM's flags, one start-up line."""

from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.error
import urllib.request

import openai
import pytest

from tests.conftest import ROOT, Server


def _serve(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "strictcall", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def _one_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("strictcall:")]
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    return lines[0]


def test_a_mistyped_local_path_is_one_line(tmp_path):
    line = _one_line(_serve("serve", str(tmp_path / "no-such-model")))
    assert "no such directory" in line and "no-such-model" in line


def test_a_model_without_a_chat_template_is_one_line(demo_model, tmp_path):
    model = tmp_path / "untemplated"
    shutil.copytree(demo_model, model)
    (model / "chat_template.jinja").unlink()
    line = _one_line(_serve("serve", str(model)))
    assert "no chat template" in line and "--chat-template" in line


def test_a_context_above_the_models_limit_is_refused(demo_model):
    line = _one_line(_serve("serve", str(demo_model), "--max-model-len", "1000000"))
    assert "--max-model-len 1000000" in line and "8192" in line


def test_a_vllm_flag_we_cannot_honour_is_refused_by_name(demo_model):
    line = _one_line(_serve("serve", str(demo_model), "--return-tokens-as-token-ids"))
    assert "--return-tokens-as-token-ids" in line
    line = _one_line(_serve("serve", str(demo_model), "--response-role", "user"))
    assert "--response-role" in line


def test_help_shows_defaults_and_formats_list_aliases():
    help_text = _serve("serve", "--help").stdout
    assert "(default: 8000)" in help_text and "--reasoning-parser" in help_text
    formats = _serve("formats").stdout
    assert "hermes" in formats and "also: qwen" in formats


@pytest.fixture(scope="module")
def vllm_style(demo_model):
    """Started as a copied vLLM launch command would start it."""
    s = Server(
        demo_model,
        "--served-model-name",
        "tiny",
        "--reasoning-parser",
        "qwen3",
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        "hermes",
        "--seed",
        "0",
        "--generation-config",
        "auto",
        "--uvicorn-log-level",
        "warning",
        "--disable-log-requests",
        "--max-log-len",
        "100",
        "--enable-prompt-tokens-details",
        "--response-role",
        "assistant",
        "--trust-remote-code",
        "--disable-fastapi-docs",
    )
    yield s
    s.stop()


def test_a_vllm_launch_command_starts_and_says_where_it_serves(vllm_style):
    r = vllm_style.client().chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": "hi"}], max_tokens=3
    )
    assert r.model == "tiny"
    lines = [x for x in vllm_style.log.read_text().splitlines() if "serving" in x]
    assert len(lines) == 1, lines
    line = lines[0]
    assert f"http://127.0.0.1:{vllm_style.port}/v1" in line and "'tiny'" in line
    assert "format hermes" in line and "context 8192 tokens" in line and "engine embedded" in line
    with pytest.raises(urllib.error.HTTPError) as info:  # --disable-fastapi-docs
        urllib.request.urlopen(vllm_style.url + "/openapi.json", timeout=30)
    assert info.value.code == 404


def test_each_server_keeps_its_own_responses(vllm_style, server):
    """No --store: in memory, per server; nothing is shared through a file in $HOME."""
    stored = server.client().responses.create(model=server.model, input="hi", max_output_tokens=3)
    assert server.client().responses.retrieve(stored.id).id == stored.id
    with pytest.raises(openai.NotFoundError):
        vllm_style.client().responses.retrieve(stored.id)
