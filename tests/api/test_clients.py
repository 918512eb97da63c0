"""Clients as they are: what the OpenAI SDK sends back, today's fields, vLLM's routes."""

from __future__ import annotations

import http.client
import json
import time

import openai
import pytest

from tests.conftest import Server

USER = [{"role": "user", "content": "Say hi"}]


def _raw(server: Server, method: str, path: str, body: bytes, ctype: str | None) -> tuple:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        headers = {"content-type": ctype} if ctype else {}
        conn.request(method, path, body, headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_an_sdk_message_sent_back_with_model_dump_is_accepted(client, server):
    first = client.chat.completions.create(model=server.model, messages=USER, max_tokens=4)
    echoed = first.choices[0].message.model_dump()
    # what the SDK puts there: output-only fields, empty
    assert {"annotations", "audio", "function_call", "refusal"} <= set(echoed)
    r = client.chat.completions.create(
        model=server.model,
        messages=[*USER, echoed, {"role": "user", "content": "again"}],  # type: ignore[list-item]
        max_tokens=4,
    )
    assert r.choices[0].finish_reason in ("stop", "length")


def test_an_audio_reference_in_a_message_is_refused_by_name(client, server):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model=server.model,
            messages=[*USER, {"role": "assistant", "content": "x", "audio": {"id": "a1"}}],  # type: ignore[list-item]
            max_tokens=4,
        )
    assert info.value.body["param"] == "messages[1].audio"  # type: ignore[index]


def test_current_top_level_fields_are_accepted(client, server):
    r = client.chat.completions.create(
        model=server.model,
        messages=USER,
        max_tokens=4,
        verbosity="medium",
        safety_identifier="user-123",
        prompt_cache_key="conversation-7",
        prompt_cache_retention="in-memory",
        store=False,
        metadata={"team": "a"},
        service_tier="auto",
        user="u",
    )
    assert r.choices[0].message.role == "assistant"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"frobnicate": 1}, "frobnicate"),
        ({"verbosity": "low"}, "verbosity"),
        ({"store": True}, "store"),
    ],
)
def test_fields_nobody_defines_or_we_cannot_honour_are_refused(client, server, extra, param):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model=server.model, messages=USER, max_tokens=4, extra_body=extra
        )
    assert info.value.body["param"] == param  # type: ignore[index]


def test_stream_options_without_stream_is_a_400_on_both_apis(client, server):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model=server.model, messages=USER, max_tokens=4, stream_options={"include_usage": True}
        )
    assert info.value.body["param"] == "stream_options"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as info:
        client.responses.create(
            model=server.model,
            input="x",
            max_output_tokens=4,
            stream_options={"include_obfuscation": False},
        )
    assert info.value.body["param"] == "stream_options"  # type: ignore[index]


def test_one_model_can_be_retrieved_by_id(client, server):
    model = client.models.retrieve(server.model)
    assert model.id == server.model and model.object == "model"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_an_unknown_route_lists_the_routes(server):
    status, body = _raw(server, "POST", "/v1/chat/completion", b"{}", "application/json")
    assert status == 404
    message = body["error"]["message"]
    assert "POST /v1/chat/completion" in message and "POST /v1/chat/completions" in message
    assert "POST /v1/completions" in message and "GET /v1/models" in message


@pytest.mark.parametrize("ctype", [None, "application/x-www-form-urlencoded", "text/plain"])
def test_a_body_that_is_not_declared_json_is_told_so(server, ctype):
    body = json.dumps({"model": server.model, "messages": USER}).encode()
    status, payload = _raw(server, "POST", "/v1/chat/completions", body, ctype)
    assert status == 415
    assert "Content-Type: application/json" in payload["error"]["message"]


@pytest.mark.parametrize(
    ("keyword", "meant"),
    [("properites", "properties"), ("requried", "required"), ("minLenght", "minLength")],
)
def test_a_misspelt_schema_keyword_is_refused_with_the_likely_one(client, server, keyword, meant):
    schema = {"type": "object", keyword: {"a": {"type": "string"}}}
    if keyword == "requried":
        schema = {"type": "object", "properties": {"a": {"type": "string"}}, keyword: ["a"]}
    if keyword == "minLenght":
        schema = {"type": "object", "properties": {"a": {"type": "string", keyword: 2}}}
    tool = {"type": "function", "function": {"name": "f", "parameters": schema}}
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model=server.model,
            messages=USER,
            tools=[tool],  # type: ignore[list-item]
            max_tokens=4,
        )
    message = info.value.body["message"]  # type: ignore[index]
    assert f"'{keyword}'" in message and f"'{meant}'" in message


def test_annotations_and_extension_keywords_stay_accepted(client, server):
    schema = {
        "type": "object",
        "title": "Args",
        "x-internal": True,
        "properties": {"a": {"type": "string", "description": "d", "example": "x"}},
        "$comment": "c",
    }
    tool = {"type": "function", "function": {"name": "f", "parameters": schema}}
    r = client.chat.completions.create(
        model=server.model,
        messages=USER,
        tools=[tool],  # type: ignore[list-item]
        max_tokens=4,
    )
    assert r.choices[0].message.role == "assistant"


# ---- POST /v1/completions ------------------------------------------------------------------
def test_a_text_completion_runs_and_counts_its_tokens(client, server):
    r = client.completions.create(model=server.model, prompt="Once upon a", max_tokens=5)
    assert r.object == "text_completion" and isinstance(r.choices[0].text, str)
    assert r.usage is not None and 0 < r.usage.completion_tokens <= 5
    assert r.choices[0].finish_reason in ("stop", "length")


def test_a_completion_of_token_ids_uses_them_as_the_prompt(client, server):
    r = client.completions.create(model=server.model, prompt=[1, 2, 3, 4], max_tokens=3)
    assert r.usage is not None and r.usage.prompt_tokens == 4
    with pytest.raises(openai.BadRequestError) as info:
        client.completions.create(model=server.model, prompt=[10**9], max_tokens=3)
    assert info.value.body["param"] == "prompt[0]"  # type: ignore[index]


def test_structured_outputs_constrain_a_completion(client, server):
    for seed in range(3):
        r = client.completions.create(
            model=server.model,
            prompt="Answer:",
            max_tokens=8,
            seed=seed,
            extra_body={"structured_outputs": {"choice": ["yes", "no"]}},
        )
        assert r.choices[0].text in ("yes", "no")


def test_a_streamed_completion_is_the_same_text(client, server):
    kw = {"model": server.model, "prompt": "Hello", "max_tokens": 8, "seed": 7}
    whole = client.completions.create(**kw).choices[0].text  # type: ignore[call-overload]
    chunks = list(
        client.completions.create(stream=True, stream_options={"include_usage": True}, **kw)
    )  # type: ignore[call-overload]
    assert "".join(c.choices[0].text for c in chunks if c.choices) == whole
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_completion_logprobs_come_in_the_legacy_shape(client, server):
    r = client.completions.create(model=server.model, prompt="Hi", max_tokens=3, logprobs=2)
    lp = r.choices[0].logprobs
    assert lp is not None and lp.tokens and len(lp.tokens) == len(lp.token_logprobs or [])
    assert all(len(top) <= 2 + 1 for top in lp.top_logprobs or [])


def test_an_idle_connection_outlives_the_sdks_pool_expiry(server):
    """httpx (so the OpenAI SDK) reuses a pooled connection idle for up to 5 s. A server that
    closed idle connections at 5 s (uvicorn's default) raced it: under load a request sent on
    a connection being closed was lost ("server disconnected"), which took a module fixture of
    200 requests, and 20 tests with it, down."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        for wait in (6, 0):
            conn.request("GET", "/health")  # the second on the connection left idle for 6 s
            response = conn.getresponse()
            assert response.status == 200 and response.read()
            time.sleep(wait)
    finally:
        conn.close()
