"""Limits, each set by a flag, each refused with a clear 4xx naming what was too big; and the
bad input that used to reach a 500."""

from __future__ import annotations

import http.client
import json

import pytest

from tests.conftest import Server

ERROR_KEYS = {"message", "type", "param", "code"}


@pytest.fixture(scope="module")
def limited(demo_model):
    s = Server(
        demo_model,
        "--max-request-bytes",
        "65536",
        "--max-tools",
        "4",
        "--max-messages",
        "8",
        "--max-schema-depth",
        "12",
        "--max-schema-bytes",
        "2048",
        "--max-model-len",
        "400",
    )
    yield s
    s.stop()


def _post(server: Server, body: bytes | dict, chunked: bool = False) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        if chunked:
            conn.putrequest("POST", "/v1/chat/completions")
            conn.putheader("content-type", "application/json")
            conn.putheader("transfer-encoding", "chunked")
            conn.endheaders()
            for i in range(0, len(data), 8192):
                piece = data[i : i + 8192]
                conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            conn.send(b"0\r\n\r\n")
        else:
            conn.request("POST", "/v1/chat/completions", data, {"content-type": "application/json"})
        response = conn.getresponse()
        payload = json.loads(response.read())
    except (BrokenPipeError, ConnectionResetError):
        pytest.fail("the server dropped the connection instead of answering")
    finally:
        conn.close()
    if response.status >= 400:
        assert set(payload) == {"error"} and set(payload["error"]) == ERROR_KEYS, payload
    return response.status, payload


def _chat(server: Server, **kw) -> dict:
    return {
        "model": server.model,
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 2,
        **kw,
    }


def _tool(parameters: dict, name: str = "probe") -> dict:
    return {"type": "function", "function": {"name": name, "parameters": parameters}}


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_size_limit_gets_413(limited, chunked):
    body = _chat(limited, messages=[{"role": "user", "content": "x" * 70000}])
    status, payload = _post(limited, body, chunked=chunked)
    assert status == 413, payload
    assert payload["error"]["code"] == "request_too_large"
    assert "65536" in payload["error"]["message"]
    status, _ = _post(limited, _chat(limited), chunked=chunked)  # under the limit: served
    assert status == 200


def test_too_many_tools(limited):
    tools = [_tool({"type": "object"}, name=f"t{i}") for i in range(5)]
    status, payload = _post(limited, _chat(limited, tools=tools))
    assert status == 400 and payload["error"]["param"] == "tools"
    assert payload["error"]["code"] == "too_many_tools" and "4" in payload["error"]["message"]


def test_too_many_messages(limited):
    status, payload = _post(
        limited, _chat(limited, messages=[{"role": "user", "content": "x"}] * 9)
    )
    assert status == 400 and payload["error"]["param"] == "messages"
    assert payload["error"]["code"] == "too_many_messages"


def _nested(levels: int) -> dict:
    schema: dict = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


def test_a_schema_nested_too_deep_names_the_tool_and_keyword(limited):
    # depth counts JSON levels: each nested object is two (the schema, its `properties`)
    status, payload = _post(limited, _chat(limited, tools=[_tool(_nested(5))]))
    assert status == 200, payload  # 11 levels: within the limit
    status, payload = _post(limited, _chat(limited, tools=[_tool(_nested(6))]))
    assert status == 400 and payload["error"]["param"] == "tools[0].function.parameters"
    message = payload["error"]["message"]
    assert "'probe'" in message and "keyword 'properties'" in message and "deeper" in message


def test_a_schema_too_large_is_refused(limited):
    big = {"type": "object", "properties": {f"p{i}": {"type": "integer"} for i in range(200)}}
    status, payload = _post(limited, _chat(limited, tools=[_tool(big)]))
    assert status == 400 and payload["error"]["param"] == "tools[0].function.parameters"
    assert "'probe'" in payload["error"]["message"] and "2048" in payload["error"]["message"]


def test_a_hostile_nesting_of_the_body_itself_is_a_400(limited):
    status, _ = _post(limited, b"[" * 30000 + b"]" * 30000)
    assert status == 400
    deep = b'{"type": "object", "properties": {"a": ' * 900 + b"{}" + b"}}" * 900
    body = b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type":'
    body += b' "function", "function": {"name": "f", "parameters": ' + deep + b"}}]}"
    status, _ = _post(limited, body)
    assert status == 400


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        (b'"messages": [{"role": "user", "content": "a\\ud800"}]', "messages[0].content"),
        (b'"stop": ["\\udfff"], "messages": [{"role": "user", "content": "x"}]', "stop[0]"),
    ],
)
def test_unpaired_surrogates_are_refused_by_field(limited, raw, param):
    body = b'{"model": "%s", %s}' % (limited.model.encode(), raw)
    status, payload = _post(limited, body)
    assert status == 400 and payload["error"]["param"] == param, payload
    assert payload["error"]["code"] == "invalid_unicode"


@pytest.mark.parametrize(
    ("kw", "param"),
    [
        ({"seed": 2**64}, "seed"),
        ({"seed": -(2**63) - 1}, "seed"),
        ({"chat_template_kwargs": {"return_dict": True}}, "chat_template_kwargs.return_dict"),
        ({"chat_template_kwargs": {"tokenize": True}}, "chat_template_kwargs.tokenize"),
        (
            {"tools": [_tool({"type": "object", "properties": {"a": {"const": 2**53 + 1}}})]},
            "tools[0].function.parameters",
        ),
    ],
)
def test_input_that_once_reached_a_500_is_a_400(limited, kw, param):
    status, payload = _post(limited, _chat(limited, **kw))
    assert status == 400 and payload["error"]["param"] == param, payload


def test_a_number_the_grammar_cannot_write_exactly_is_refused_by_keyword(limited):
    tool = _tool({"type": "object", "properties": {"a": {"enum": [1, 900.9999999999999]}}})
    status, payload = _post(limited, _chat(limited, tools=[tool]))
    assert status == 400, payload
    assert "'probe'" in payload["error"]["message"]
    assert "keyword 'enum'" in payload["error"]["message"]
