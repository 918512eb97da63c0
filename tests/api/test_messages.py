"""POST /v1/messages end to end: the official `anthropic` SDK against a real server.

The server runs the tiny random-weight demo model (Hermes format), so every valid tool_use a
forced tool_choice yields is the grammar's doing. It runs with --api-key, so every call here
also proves the key is accepted as `x-api-key` (the SDK's way) or as a Bearer token.
"""

from __future__ import annotations

import json

import anthropic
import httpx2
import jsonschema
import pytest

from strictcall.formats import get_format
from tests.api.test_families import DEEPSEEK_V31
from tests.api.toolsets import SCHEMAS
from tests.api.toolsets import TOOLS as CHAT_TOOLS
from tests.conftest import ROOT, Server, tiny_model
from tests.reliability.hostile import hostile_instance, hostile_schema, hostile_strings, writable

KEY = "sk-messages-test"
# the chat tests' tool set (refs, patterns, anyOf, a dotted name, no arguments), as Anthropic
# declares tools
TOOLS = [
    {
        "name": t["function"]["name"],
        "description": t["function"]["description"],
        "input_schema": t["function"].get("parameters") or {"type": "object"},
    }
    for t in CHAT_TOOLS
]
WEATHER = TOOLS[0]
ASK = [{"role": "user", "content": "Weather in Paris, and a flight to Rome?"}]


@pytest.fixture(scope="module")
def server():
    s = Server(tiny_model(), "--api-key", KEY)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def ac(server) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key=KEY, max_retries=0, timeout=120)


def create(ac, server, **kw):
    kw.setdefault("max_tokens", 1024)
    kw.setdefault("messages", ASK)
    return ac.messages.create(model=server.model, **kw)


def stream(ac, server, **kw):
    """(the SDK's accumulated message, the event types in order)."""
    kw.setdefault("max_tokens", 1024)
    kw.setdefault("messages", ASK)
    with ac.messages.stream(model=server.model, **kw) as s:
        types = [e.type for e in s]
        return s.get_final_message(), types


def calls_of(message) -> list:
    return [b for b in message.content if b.type == "tool_use"]


def check_calls(message) -> list:
    """Every tool_use names a declared tool and its input is valid against that schema."""
    calls = calls_of(message)
    if message.stop_reason == "max_tokens":
        calls = calls[:-1]  # the last may be cut off (a stream has sent part of it)
    for c in calls:
        assert c.name in SCHEMAS, c.name
        jsonschema.validate(c.input, SCHEMAS[c.name])
        assert c.id
    if calls and message.stop_reason != "max_tokens":
        assert message.stop_reason == "tool_use"
    return calls


def forced(message) -> list:
    """The calls of a forced tool_choice: at least one, unless max_tokens cut it short."""
    calls = check_calls(message)
    if message.stop_reason != "max_tokens":
        assert calls and message.stop_reason == "tool_use", message
    return calls


def raw(server, path: str, body=None, *, headers=None, method: str = "POST") -> httpx2.Response:
    headers = {"x-api-key": KEY, **(headers or {})}
    kw = {"json": body} if body is not None else {}
    return httpx2.request(method, server.url + path, headers=headers, timeout=120, **kw)


def assert_anthropic_error(r: httpx2.Response, status: int, kind: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"type", "error"} and body["type"] == "error", body
    assert set(body["error"]) == {"type", "message"}, body
    assert body["error"]["type"] == kind, body
    return body["error"]["message"]


# ---- tool_choice ------------------------------------------------------------------------
@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "stream"])
def test_any_always_calls_valid_tools(ac, server, streaming):
    for temperature in (1.0, 0.7, 0.3):
        kw = dict(tools=TOOLS, tool_choice={"type": "any"}, extra_body={"temperature": temperature})
        message = stream(ac, server, **kw)[0] if streaming else create(ac, server, **kw)
        forced(message)


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "stream"])
def test_named_tool_is_the_one_call(ac, server, streaming):
    kw = dict(tools=TOOLS, tool_choice={"type": "tool", "name": "book.flight"})
    for top_k in (0, 50):
        kw["extra_body"] = {"top_k": top_k, "top_p": 0.95}
        message = stream(ac, server, **kw)[0] if streaming else create(ac, server, **kw)
        assert [c.name for c in forced(message)] == ["book.flight"], message


def test_disable_parallel_tool_use_allows_one_call(ac, server):
    answered = 0
    for temperature in (1.0, 0.8, 0.5, 0.2):
        message = create(
            ac,
            server,
            tools=TOOLS,
            tool_choice={"type": "any", "disable_parallel_tool_use": True},
            extra_body={"temperature": temperature},
        )
        calls = forced(message)
        assert len(calls) <= 1, message
        answered += len(calls)
    assert answered >= 2  # most answers end with their one call, not at max_tokens


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "stream"])
def test_none_never_calls(ac, server, streaming):
    kw = dict(tools=TOOLS, tool_choice={"type": "none"}, max_tokens=30)
    message = stream(ac, server, **kw)[0] if streaming else create(ac, server, **kw)
    assert not calls_of(message)
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert "<tool_call>" not in "".join(b.text for b in message.content if b.type == "text")


def test_auto_calls_only_valid_tools_and_keeps_markers_out_of_text(ac, server):
    for temperature in (1.0, 0.6):
        for streaming in (False, True):
            kw = dict(tools=TOOLS, tool_choice={"type": "auto"})
            kw["extra_body"] = {"temperature": temperature}
            message = stream(ac, server, **kw)[0] if streaming else create(ac, server, **kw)
            check_calls(message)
            if message.stop_reason != "max_tokens":  # a call cut off comes back as its text
                text = "".join(b.text for b in message.content if b.type == "text")
                assert "<tool_call>" not in text


# ---- streaming --------------------------------------------------------------------------
def _sse(r: httpx2.Response) -> list[tuple[str, dict]]:
    out = []
    for chunk in r.text.split("\n\n"):
        if not chunk.strip():
            continue
        lines = dict(line.split(": ", 1) for line in chunk.split("\n"))
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_stream_is_anthropics_event_sequence(server):
    body = {
        "model": server.model,
        "max_tokens": 80,
        "messages": ASK,
        "tools": TOOLS,
        "tool_choice": {"type": "tool", "name": "get_weather"},
        "stream": True,
    }
    r = raw(server, "/v1/messages", body)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = _sse(r)
    assert all(name == data["type"] for name, data in events)
    names = [name for name, _ in events]
    assert names[:2] == ["message_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    start = events[0][1]["message"]
    assert start["role"] == "assistant" and start["content"] == [] and start["stop_reason"] is None
    assert start["id"].startswith("msg_") and start["usage"]["input_tokens"] > 0
    blocks: dict[int, dict] = {}
    json_text: dict[int, str] = {}
    open_index = None
    for name, data in events[2:-2]:
        if name == "content_block_start":
            assert open_index is None  # one block at a time
            open_index = data["index"]
            assert open_index == len(blocks)
            blocks[open_index] = data["content_block"]
            json_text[open_index] = ""
        elif name == "content_block_delta":
            assert data["index"] == open_index
            if data["delta"]["type"] == "input_json_delta":
                json_text[open_index] += data["delta"]["partial_json"]
        elif name == "content_block_stop":
            assert data["index"] == open_index
            open_index = None
    assert open_index is None
    tool_blocks = [i for i, b in blocks.items() if b["type"] == "tool_use"]
    assert len(tool_blocks) == 1
    block = blocks[tool_blocks[0]]
    assert block["name"] == "get_weather" and block["input"] == {}
    jsonschema.validate(json.loads(json_text[tool_blocks[0]]), WEATHER["input_schema"])
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert delta["usage"]["output_tokens"] > 0


def test_stream_and_plain_agree_on_the_same_greedy_answer(ac, server):
    kw = dict(tools=TOOLS, tool_choice={"type": "any"}, extra_body={"temperature": 0})
    plain = create(ac, server, **kw)
    streamed, types = stream(ac, server, **kw)

    def shape(m):  # ids are fresh per response
        return [b.model_dump(exclude={"id"}) for b in m.content]

    assert shape(plain) == shape(streamed)
    assert plain.stop_reason == streamed.stop_reason == "tool_use"
    assert plain.usage.output_tokens == streamed.usage.output_tokens
    assert "input_json" in types  # the SDK saw input_json_delta events


def test_text_streams_as_text_deltas(ac, server):
    # greedy: sampled text may draw the end token early (a red CI once)
    message, types = stream(ac, server, max_tokens=12, extra_body={"temperature": 0})
    assert message.stop_reason == "max_tokens" and message.usage.output_tokens == 12
    assert [b.type for b in message.content] == ["text"] and message.content[0].text
    assert "text" in types and types[-1] == "message_stop"


# ---- stop reasons, sampling, system -----------------------------------------------------
def test_stop_sequence_is_reported(ac, server):
    """Random text at temperature 1 soon spells one of these; the answer ends before it."""
    stops = ["e", "a", "o", "t"]
    for streaming in (False, True):
        kw = dict(max_tokens=60, stop_sequences=stops)
        hits = []
        for _ in range(4):
            m = stream(ac, server, **kw)[0] if streaming else create(ac, server, **kw)
            text = "".join(b.text for b in m.content if b.type == "text")
            assert not any(s in text for s in stops), text
            if m.stop_reason == "stop_sequence":
                hits.append(m.stop_sequence)
            else:
                assert m.stop_reason in ("max_tokens", "end_turn") and m.stop_sequence is None
        assert hits and set(hits) <= set(stops), hits


def test_max_tokens_and_usage(ac, server):
    m = create(ac, server, max_tokens=5, extra_body={"temperature": 0}, metadata={"user_id": "u-1"})
    assert m.stop_reason == "max_tokens" and m.usage.output_tokens == 5
    assert m.id.startswith("msg_") and m.type == "message" and m.role == "assistant"
    counted = ac.messages.count_tokens(model=server.model, messages=ASK)
    assert m.usage.input_tokens == counted.input_tokens


def test_system_as_string_or_blocks_reaches_the_prompt(ac, server):
    def count(**kw) -> int:
        return ac.messages.count_tokens(model=server.model, messages=ASK, **kw).input_tokens

    bare = count()
    # longer than the default system prompt the Qwen template writes when none is given
    text = "You are terse. Answer in one word. " * 8
    as_string = count(system=text)
    as_blocks = count(
        system=[{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]
    )
    assert as_string == as_blocks > bare
    assert count(tools=TOOLS) > bare
    m = create(ac, server, system=[{"type": "text", "text": text}], max_tokens=3)
    assert m.usage.input_tokens == as_string


# ---- multi-turn ----------------------------------------------------------------------------
def _sendable(value) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True


def test_tool_results_continue_the_conversation(ac, server):
    for _ in range(5):  # a random model's arguments may run past max_tokens: ask again
        first = create(ac, server, tools=TOOLS, tool_choice={"type": "any"})
        calls = forced(first)
        # a random model may write a number like 1e400: valid JSON, but read by the SDK as
        # inf, which it cannot send back; such a history is the client's to fix, not ours
        if calls and all(_sendable(c.input) for c in calls):
            break
    assert calls and all(_sendable(c.input) for c in calls)
    history = [
        *ASK,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {
            "role": "user",
            "content": [
                *(
                    {
                        "type": "tool_result",
                        "tool_use_id": c.id,
                        "content": [{"type": "text", "text": '{"temp": 21}'}],
                    }
                    for c in calls[:-1]
                ),
                {
                    "type": "tool_result",
                    "tool_use_id": calls[-1].id,
                    "content": "no such city",
                    "is_error": True,
                },
                {"type": "text", "text": "Thanks. Now summarise."},
            ],
        },
    ]
    for streaming in (False, True):
        kw = dict(
            messages=history, tools=TOOLS, tool_choice={"type": "tool", "name": "get_weather"}
        )
        second = stream(ac, server, **kw)[0] if streaming else create(ac, server, **kw)
        assert [c.name for c in forced(second)] == ["get_weather"]
    # the results are in the prompt: the conversation counts more tokens than the question
    longer = ac.messages.count_tokens(model=server.model, messages=history, tools=TOOLS)
    assert longer.input_tokens > first.usage.input_tokens


def test_tool_results_must_answer_tool_uses(server):
    call = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}
    base = {"model": server.model, "max_tokens": 5, "tools": TOOLS}
    cases = [
        # a result for an id no tool_use sent
        [
            *ASK,
            {"role": "assistant", "content": [call]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9"}]},
        ],
        # a tool_use left unanswered
        [*ASK, {"role": "assistant", "content": [call]}, {"role": "user", "content": "go on"}],
        # a tool_result in an assistant message
        [
            *ASK,
            {"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "x"}]},
            {"role": "user", "content": "hi"},
        ],
    ]
    for messages in cases:
        r = raw(server, "/v1/messages", {**base, "messages": messages})
        message = assert_anthropic_error(r, 400, "invalid_request_error")
        assert "tool_use" in message or "tool_result" in message, message


# ---- hostile schemas ---------------------------------------------------------------------
def test_hostile_schemas_cannot_break_the_call(ac, server):
    fmt = get_format("hermes")
    strings = hostile_strings(fmt)
    validated = 0
    for i, h in enumerate(strings[:: max(1, len(strings) // 12)]):
        enforced, key = writable(fmt, h)
        schema = hostile_schema(h, key)
        jsonschema.validate(hostile_instance(h, key), schema)  # the schema is satisfiable
        tool = {"name": "t", "description": h, "input_schema": schema}
        kw = dict(tools=[tool], tool_choice={"type": "tool", "name": "t"}, max_tokens=300)
        if not enforced:
            with pytest.raises(anthropic.BadRequestError):
                create(ac, server, **kw)
            continue
        message = stream(ac, server, **kw)[0] if i % 2 else create(ac, server, **kw)
        if message.stop_reason == "max_tokens":
            continue  # cut off: nothing to validate
        [call] = calls_of(message)
        assert call.name == "t"
        jsonschema.validate(call.input, schema)
        validated += 1
    assert validated >= 6, validated


# ---- errors, in Anthropic's shape --------------------------------------------------------
def test_every_refusal_is_an_anthropic_error(server):
    ok = {"model": server.model, "max_tokens": 5, "messages": ASK}
    bad_tool = {**WEATHER, "input_schema": {"type": "object", "not": {"required": ["city"]}}}
    cases = [
        ({k: v for k, v in ok.items() if k != "max_tokens"}, "max_tokens"),
        ({**ok, "frobnicate": 1}, "frobnicate"),
        ({**ok, "temperature": 1.5}, "temperature"),
        ({**ok, "tools": [bad_tool]}, "tools[0].input_schema"),
        ({**ok, "tools": [{**WEATHER, "name": "bad name!"}]}, "tools[0].name"),
        ({**ok, "tools": [WEATHER, WEATHER]}, "Duplicate"),
        (
            {**ok, "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}]},
            "server tools",
        ),
        ({**ok, "tools": [{**WEATHER, "input_examples": [{}]}]}, "tools[0].input_examples"),
        ({**ok, "tools": [{"name": "f"}]}, "tools[0].input_schema"),
        ({**ok, "tool_choice": {"type": "any"}}, "tool_choice 'any' needs at least one tool"),
        ({**ok, "tools": TOOLS, "tool_choice": {"type": "tool", "name": "nope"}}, "nope"),
        ({**ok, "tool_choice": {"type": "sometimes"}}, "tool_choice"),
        ({**ok, "stop_sequences": [""]}, "stop_sequences"),
        ({**ok, "messages": [{"role": "system", "content": "x"}]}, "system"),
        ({**ok, "messages": [*ASK, {"role": "assistant", "content": "Sure"}]}, "prefill"),
        ({**ok, "messages": []}, "messages"),
        (
            {**ok, "messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}]},
            "image",
        ),
        ({**ok, "messages": [{"role": "user", "content": "x", "name": "me"}]}, "name"),
        ({**ok, "thinking": {"type": "enabled", "budget_tokens": 2048}}, "budget_tokens"),
        (
            {**ok, "max_tokens": 4000, "thinking": {"type": "enabled", "budget_tokens": 10}},
            "budget_tokens",
        ),
    ]
    for body, needle in cases:
        message = assert_anthropic_error(
            raw(server, "/v1/messages", body), 400, "invalid_request_error"
        )
        assert needle in message, (needle, message)
    r = raw(server, "/v1/messages", {**ok, "model": "no-such-model"})
    assert "no-such-model" in assert_anthropic_error(r, 404, "not_found_error")
    r = raw(server, "/v1/messages/count_tokens", {"model": server.model, "messages": "hi"})
    assert_anthropic_error(r, 400, "invalid_request_error")
    assert_anthropic_error(raw(server, "/v1/messages/nowhere", ok), 404, "not_found_error")
    r = httpx2.post(
        server.url + "/v1/messages",
        content=b"{not json",
        headers={"x-api-key": KEY, "content-type": "application/json"},
    )
    assert_anthropic_error(r, 400, "invalid_request_error")
    r = httpx2.post(server.url + "/v1/messages", content=b"a=1", headers={"x-api-key": KEY})
    assert "Content-Type" in assert_anthropic_error(r, 400, "invalid_request_error")
    huge = {**ok, "messages": [{"role": "user", "content": "x" * (5 * 1024 * 1024)}]}
    assert_anthropic_error(raw(server, "/v1/messages", huge), 413, "request_too_large")
    # the OpenAI routes keep OpenAI's shape
    r = raw(server, "/v1/chat/completions", {"model": "no-such-model", "messages": ASK})
    assert r.status_code == 404 and r.json()["error"]["type"] == "invalid_request_error"


def test_the_sdk_raises_its_own_error_types(ac, server):
    with pytest.raises(anthropic.NotFoundError) as e:
        ac.messages.create(model="missing", max_tokens=5, messages=ASK)
    assert e.value.body["error"]["type"] == "not_found_error"
    with pytest.raises(anthropic.BadRequestError) as e:
        create(ac, server, tools=TOOLS, tool_choice={"type": "tool", "name": "nope"})
    assert "tool_choice.name" in e.value.message


def test_api_key_as_x_api_key_or_bearer(server):
    sdk = anthropic.Anthropic(base_url=server.url, auth_token=KEY, api_key=None, max_retries=0)
    assert sdk.messages.count_tokens(model=server.model, messages=ASK).input_tokens > 0
    wrong = anthropic.Anthropic(base_url=server.url, api_key="wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as e:
        wrong.messages.create(model=server.model, max_tokens=5, messages=ASK)
    assert e.value.body["error"]["type"] == "authentication_error"
    r = httpx2.post(server.url + "/v1/messages", json={})
    assert_anthropic_error(r, 401, "authentication_error")


# ---- thinking blocks: a reasoning family ---------------------------------------------------
@pytest.fixture(scope="module")
def thinker():
    s = Server(tiny_model(DEEPSEEK_V31))  # its template opens <think> when thinking is on
    yield s
    s.stop()


def test_reasoning_comes_back_as_thinking_blocks(thinker):
    ac = anthropic.Anthropic(base_url=thinker.url, api_key="unused", max_retries=0, timeout=120)
    on = {"type": "enabled", "budget_tokens": 1024}
    kw = dict(model=thinker.model, max_tokens=1100, messages=ASK, thinking=on)
    counts = {
        t: ac.messages.count_tokens(
            model=thinker.model, messages=ASK, thinking={"type": t, **extra}
        )
        for t, extra in (("enabled", {"budget_tokens": 1024}), ("disabled", {}))
    }
    assert counts["enabled"].input_tokens != counts["disabled"].input_tokens
    m = ac.messages.create(**{**kw, "max_tokens": 1025})
    assert m.content[0].type == "thinking" and m.content[0].thinking, m.content
    # one thinking block first, then at most the answer text (no grammar without tools: the
    # answer is free text, which may spell anything once the reasoning has closed)
    assert [b.type for b in m.content] in (["thinking"], ["thinking", "text"]), m.content
    with ac.messages.stream(**{**kw, "max_tokens": 1025}) as s:
        types = [e.type for e in s]
        streamed = s.get_final_message()
    assert "thinking" in types  # thinking_delta events
    assert streamed.content[0].type == "thinking" and streamed.content[0].thinking
    # thinking blocks are read back in history
    history = [
        *ASK,
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "The user wants weather.", "signature": ""},
                {"type": "text", "text": "Checking."},
            ],
        },
        {"role": "user", "content": "Go on."},
    ]
    r = ac.messages.create(
        model=thinker.model, max_tokens=5, messages=history, thinking={"type": "disabled"}
    )
    assert r.usage.input_tokens > 0


def test_the_docs_example_runs(server, capsys):
    """docs/messages.md's example, run as written against this server."""
    doc = (ROOT / "docs" / "messages.md").read_text()
    code = doc.split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace("http://127.0.0.1:8000", server.url).replace('"unused"', repr(KEY))
    code = code.replace('"strictcall-demo"', repr(server.model))
    exec(compile(code, "docs/messages.md", "exec"), {})
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("tool_use get_weather {'city': ")
    assert lines[-2].endswith(("end_turn", "max_tokens", "tool_use"))
    assert int(lines[-1]) > 0
