"""--engine-url: a vLLM that already runs. Checked at start (the same model and tokenizer, and
llguidance grammars accepted), refused in one line otherwise; then it serves as --engine vllm."""

from __future__ import annotations

import asyncio
import json
import time

import jsonschema
import openai
import pytest

from tests.api.test_cli import _one_line, _serve
from tests.api.toolsets import SCHEMAS, TOOLS
from tests.conftest import Server, tiny_model
from tests.reliability.load import StreamRequest, scrape, stream_once


@pytest.fixture(scope="module")
def url_server(demo_model, vllm_server):
    s = Server(demo_model, "--engine-url", vllm_server.vllm_url)
    yield s
    s.stop()


def _call(server: Server, **kw):
    return server.client().chat.completions.create(
        model=server.model,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=TOOLS,
        max_tokens=120,
        seed=5,
        **kw,
    )


def test_a_running_vllm_serves_the_same_calls(server, url_server):
    """Two strictcalls on one vLLM, one that started it and one given its URL: the same
    seeded request gets the same call from both."""
    for choice in ("required", {"type": "function", "function": {"name": "get_weather"}}):
        a, b = _call(server, tool_choice=choice), _call(url_server, tool_choice=choice)
        ma, mb = a.choices[0].message, b.choices[0].message
        assert a.choices[0].finish_reason == b.choices[0].finish_reason
        assert ma.content == mb.content
        ca, cb = ma.tool_calls or [], mb.tool_calls or []
        assert [(c.function.name, c.function.arguments) for c in ca] == [
            (c.function.name, c.function.arguments) for c in cb
        ]
        if a.choices[0].finish_reason == "tool_calls":
            for c in ca:
                jsonschema.validate(json.loads(c.function.arguments), SCHEMAS[c.function.name])
    card = url_server.client().models.list().data[0]
    assert card.max_model_len == 8192


def test_another_model_is_refused(vllm_server):
    other = tiny_model()  # the demo model: another model directory than vLLM serves
    line = _one_line(_serve("serve", str(other), "--engine-url", vllm_server.vllm_url))
    assert f"serves {vllm_server.strictcall.model}, not {other}" in line, line
    assert "vllm serve" in line and "guidance" in line, line


def test_a_server_that_is_not_vllm_is_refused(demo_model, server):
    """strictcall itself answers /v1/models for the same model, but is no vLLM (/tokenize)."""
    line = _one_line(_serve("serve", str(demo_model), "--engine-url", server.url))
    assert "/tokenize answered 404" in line, line


def test_a_schema_that_spells_a_marker_is_a_valid_call_or_a_clear_400(server, client):
    """A const that spells the call's closing marker: vLLM's guidance backend may allow the
    marker token there and then refuse it (a 500 inside vLLM). strictcall answers with a
    valid call or a 400 naming the dead end, never a 500 or an invalid call."""
    schema = {
        "type": "object",
        "properties": {"x": {"const": "</tool_call>"}},
        "required": ["x"],
        "additionalProperties": False,
    }
    tools = [{"type": "function", "function": {"name": "probe", "parameters": schema}}]
    for seed in range(4):
        try:
            r = client.chat.completions.create(
                model=server.model,
                messages=[{"role": "user", "content": "go"}],
                tools=tools,
                tool_choice="required",
                max_tokens=60,
                seed=seed,
            )
        except openai.APIStatusError as exc:
            assert exc.status_code == 400, exc.response.text
            assert exc.response.json()["error"]["code"] == "grammar_dead_end"
            continue
        calls = r.choices[0].message.tool_calls
        assert r.choices[0].finish_reason in ("tool_calls", "length")
        if r.choices[0].finish_reason == "tool_calls":
            assert json.loads(calls[0].function.arguments) == {"x": "</tool_call>"}


def _vllm_running(url: str) -> float:
    """vLLM's own count of requests it is generating (its /metrics)."""
    found = [v for k, v in scrape(url).items() if k.startswith("vllm:num_requests_running")]
    assert found, "vLLM's /metrics has no vllm:num_requests_running"
    return sum(found)


def test_a_hang_up_aborts_the_request_inside_vllm(vllm_server):
    """A client that hangs up closes strictcall's stream to vLLM, and vLLM stops generating
    (3000 tokens would take it far longer than the wait below)."""
    s = vllm_server.strictcall
    outcome = asyncio.run(
        stream_once(s.url, StreamRequest(s.model, max_tokens=3000, disconnect_after=3))
    )
    assert outcome.kind == "disconnected"
    deadline = time.monotonic() + 10
    while _vllm_running(vllm_server.vllm_url) > 0:
        assert time.monotonic() < deadline, "vLLM kept generating for a client that left"
        time.sleep(0.2)
    assert scrape(s.url)["strictcall_requests_in_flight"] == 0
