"""One pipeline for every API: a check made for chat completions holds for Responses too.

A server started with low limits refuses the same bad input on both APIs, with a 400 naming the
field in each API's own terms.
"""

from __future__ import annotations

import http.client
import json

import openai
import pytest

from tests.conftest import Server

TOOL = {"type": "object", "properties": {"a": {"type": "integer"}}}


@pytest.fixture(scope="module")
def limited(demo_model):
    s = Server(demo_model, "--max-tools", "2", "--max-messages", "3")
    yield s
    s.stop()


def _chat_tools(n: int) -> list[dict]:
    return [
        {"type": "function", "function": {"name": f"f{i}", "parameters": TOOL}} for i in range(n)
    ]


def _response_tools(n: int) -> list[dict]:
    return [{"type": "function", "name": f"f{i}", "parameters": TOOL} for i in range(n)]


def _refusal(call) -> dict:
    with pytest.raises(openai.BadRequestError) as info:
        call()
    assert info.value.status_code == 400
    return info.value.body  # type: ignore[return-value]


def test_too_many_tools_is_refused_by_both_apis(limited):
    client = limited.client()
    chat = _refusal(
        lambda: client.chat.completions.create(
            model=limited.model,
            messages=[{"role": "user", "content": "x"}],
            tools=_chat_tools(3),  # type: ignore[arg-type]
            max_tokens=2,
        )
    )
    responses = _refusal(
        lambda: client.responses.create(
            model=limited.model,
            input="x",
            tools=_response_tools(3),  # type: ignore[arg-type]
            max_output_tokens=2,
        )
    )
    assert chat["code"] == responses["code"] == "too_many_tools"
    assert chat["param"] == responses["param"] == "tools"
    # within the limit both answer
    ok = client.responses.create(
        model=limited.model, input="x", tools=_response_tools(2), max_output_tokens=2
    )  # type: ignore[arg-type]
    assert ok.status in ("completed", "incomplete")


def test_too_many_input_items_is_refused_by_both_apis(limited):
    client = limited.client()
    items = [{"role": "user", "content": f"m{i}"} for i in range(4)]
    chat = _refusal(
        lambda: client.chat.completions.create(
            model=limited.model,
            messages=items,  # type: ignore[arg-type]
            max_tokens=2,
        )
    )
    responses = _refusal(
        lambda: client.responses.create(
            model=limited.model,
            input=items,  # type: ignore[arg-type]
            max_output_tokens=2,
        )
    )
    assert chat["code"] == responses["code"] == "too_many_messages"
    assert chat["param"] == "messages" and responses["param"] == "input"


def _post(server: Server, path: str, body: dict) -> tuple[int, dict]:
    """json.dumps escapes a lone surrogate as \\ud800; the OpenAI SDK cannot encode one."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request("POST", path, json.dumps(body), {"content-type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_a_lone_surrogate_is_refused_by_both_apis(limited):
    text = [{"role": "user", "content": "a\ud800"}]
    chat_status, chat = _post(
        limited, "/v1/chat/completions", {"model": limited.model, "messages": text}
    )
    responses_status, responses = _post(
        limited, "/v1/responses", {"model": limited.model, "input": text}
    )
    assert chat_status == responses_status == 400
    assert chat["error"]["code"] == responses["error"]["code"] == "invalid_unicode"
    assert chat["error"]["param"] == "messages[0].content"
    assert responses["error"]["param"] == "input[0].content"


def test_a_bad_tool_choice_and_response_format_name_the_responses_fields(limited):
    client = limited.client()
    body = _refusal(
        lambda: client.responses.create(
            model=limited.model,
            input="x",
            text={"format": {"type": "json_schema", "name": "r"}},  # type: ignore[typeddict-item]
            max_output_tokens=2,
        )
    )
    assert body["code"] == "invalid_response_format" and body["param"].startswith("text.format")
    body = _refusal(
        lambda: client.responses.create(
            model=limited.model, input="x", tool_choice="required", max_output_tokens=2
        )
    )
    assert body["param"] == "tool_choice"
