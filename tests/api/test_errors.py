"""Bad input gets a clear 4xx in OpenAI's error shape, naming the field; never a 500."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import openai
import pytest

from tests.api.toolsets import TOOLS, WEATHER
from tests.conftest import Server

MSG = [{"role": "user", "content": "hi"}]


def error_of(call) -> tuple[int, dict]:
    with pytest.raises(openai.APIStatusError) as info:
        call()
    body = info.value.response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"]
    return info.value.status_code, body["error"]


def bad(client, model, **kw):
    kw.setdefault("messages", MSG)
    return error_of(lambda: client.chat.completions.create(model=model, **kw))


def tool(name, parameters=None):
    fn = {"name": name}
    if parameters is not None:
        fn["parameters"] = parameters
    return {"type": "function", "function": fn}


def test_named_tool_choice_must_name_a_declared_tool(client, server):
    status, err = bad(
        client,
        server.model,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "nope"}},
    )
    assert (
        status == 400 and err["param"] == "tool_choice.function.name" and "nope" in err["message"]
    )


@pytest.mark.parametrize(
    "choice", ["required", {"type": "function", "function": {"name": "get_weather"}}]
)
def test_required_or_named_need_tools(client, server, choice):
    status, err = bad(client, server.model, tool_choice=choice)
    assert status == 400 and err["param"] == "tool_choice"


@pytest.mark.parametrize(
    ("parameters", "keyword"),
    [
        ({"type": "object", "properties": {"a": {"type": "string", "not": {"const": "x"}}}}, "not"),
        (
            {"type": "object", "properties": {"a": {"type": "array", "uniqueItems": True}}},
            "uniqueItems",
        ),
        ({"type": "object", "if": {"required": ["a"]}, "then": {"required": ["b"]}}, "if"),
        ({"type": "object", "properties": {"a": {"type": "dict"}}}, "type"),
        ({"type": "object", "properties": {"a": {"type": "string", "format": "weird"}}}, "format"),
        (
            {"type": "object", "properties": {"a": {"type": "string", "pattern": "(?<=x)y"}}},
            "pattern",
        ),
        ({"type": "object", "required": "a"}, "required"),
        ({"type": "string"}, "type"),
    ],
)
def test_invalid_tool_schema_names_the_tool_and_keyword(client, server, parameters, keyword):
    status, err = bad(client, server.model, tools=[WEATHER, tool("broken_tool", parameters)])
    assert status == 400
    assert err["param"] == "tools[1].function.parameters"
    assert "broken_tool" in err["message"] and f"'{keyword}'" in err["message"]


def test_duplicate_tool_names(client, server):
    status, err = bad(client, server.model, tools=[WEATHER, WEATHER])
    assert status == 400 and err["param"] == "tools[1].function.name"
    assert "Duplicate" in err["message"]


@pytest.mark.parametrize("name", ["get weather", "a" * 65, "", "émoji", "a/b", "x<y>"])
def test_unusable_tool_names(client, server, name):
    status, err = bad(client, server.model, tools=[tool(name)])
    assert status == 400 and err["param"] == "tools[0].function.name"


def test_dotted_and_dashed_names_are_accepted(client, server):
    r = client.chat.completions.create(
        model=server.model,
        messages=MSG,
        tools=[tool("math.factorial"), tool("a-b_c")],
        tool_choice="required",
        max_tokens=50,
        seed=0,
    )
    assert {c.function.name for c in r.choices[0].message.tool_calls} <= {"math.factorial", "a-b_c"}


@pytest.mark.parametrize(
    ("kw", "param"),
    [
        ({"n": 2}, "n"),
        ({"temperature": 3}, "temperature"),
        ({"top_logprobs": 3}, "top_logprobs"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            "messages[0].content[0]",
        ),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        ({"logit_bias": {"abc": 1}}, "logit_bias"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"stop": [""]}, "stop"),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
            "response_format.json_schema",
        ),
        ({"functions": [{"name": "f"}]}, "functions"),
    ],
)
def test_bad_fields_are_named(client, server, kw, param):
    status, err = bad(client, server.model, **kw)
    assert status == 400, err
    assert err["param"] == param, err


def test_unknown_fields_are_refused_by_name(client, server):
    status, err = bad(client, server.model, extra_body={"frobnicate": 1})
    assert status == 400 and err["param"] == "frobnicate"
    assert "Unrecognized request argument" in err["message"]


def test_unknown_model_is_404(client):
    status, err = bad(client, "no-such-model")
    assert status == 404 and err["code"] == "model_not_found"


def _post(url: str, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"content-type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"model": 5}', b""])
def test_malformed_bodies_get_400(server, body):
    status, payload = _post(server.url + "/v1/chat/completions", body)
    assert status == 400, payload
    assert set(payload["error"]) == {"message", "type", "param", "code"}


@pytest.fixture(scope="module")
def small_server(demo_model):
    s = Server(
        demo_model, "--max-model-len", "300", "--api-key", "sekret", "--served-model-name", "tiny"
    )
    yield s
    s.stop()


def test_prompt_longer_than_the_context(small_server):
    client = small_server.client(api_key="sekret")
    long = [{"role": "user", "content": "word " * 400}]
    status, err = bad(client, "tiny", messages=long)
    assert status == 400 and err["code"] == "context_length_exceeded" and err["param"] == "messages"


def test_max_tokens_beyond_the_context(small_server):
    client = small_server.client(api_key="sekret")
    status, err = bad(client, "tiny", max_tokens=5000)
    assert (
        status == 400 and err["code"] == "context_length_exceeded" and err["param"] == "max_tokens"
    )


def test_api_key_guards_v1_but_not_health(small_server):
    status, err = error_of(lambda: small_server.client(api_key="wrong").models.list())
    assert status == 401 and err["code"] == "invalid_api_key"
    body = json.dumps({"model": "tiny", "messages": MSG}).encode()
    status, payload = _post(small_server.url + "/v1/chat/completions", body)  # no key at all
    assert status == 401 and payload["error"]["code"] == "invalid_api_key"
    with urllib.request.urlopen(small_server.url + "/health") as r:
        assert r.status == 200
    models = small_server.client(api_key="sekret").models.list()
    assert [m.id for m in models.data] == ["tiny"]


def test_served_model_name_is_the_name_clients_use(small_server):
    client = small_server.client(api_key="sekret")
    r = client.chat.completions.create(model="tiny", messages=MSG, max_tokens=3)
    assert r.model == "tiny"
