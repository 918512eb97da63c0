"""POST /v1/responses end to end: the official client, a real server, real tools.

The server runs a random-weight model; tool_choice forces it to call the server-side tools, so
the loop really runs: MCP servers (streamable HTTP and stdio, started here), the python sandbox
and the browser (against a local web and a local stand-in for Exa's API).
"""

from __future__ import annotations

import contextlib
import json
import time

import jsonschema
import openai
import pytest

from tests.conftest import Server, tiny_model
from tests.tools.procs import STDIO_COMMAND, McpHttp
from tests.tools.web import API_KEY, LocalWeb

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "maxLength": 12}},
        "required": ["city"],
    },
}


@pytest.fixture(scope="module")
def web():
    w = LocalWeb()
    yield w
    w.close()


@pytest.fixture(scope="module")
def mcp_servers():
    servers = {"http": McpHttp(), "flaky": McpHttp()}
    yield servers
    for s in servers.values():
        s.stop()


@pytest.fixture(scope="module")
def tool_server(web, mcp_servers, tmp_path_factory):
    specs = ",".join(
        ["demo", f"http={mcp_servers['http'].address}", f"flaky={mcp_servers['flaky'].address}"]
    )
    server = Server(
        tiny_model(),
        *("--tool-server", specs + ",down=127.0.0.1:9"),
        *("--tool-server", f"local={STDIO_COMMAND}"),
        *("--store", str(tmp_path_factory.mktemp("store") / "responses.db")),
        *("--tool-timeout", "3", "--max-tool-calls", "4", "--python-timeout", "10"),
        "--browser-allow-private",
        "--allow-request-mcp-urls",
        env={"EXA_API_KEY": API_KEY, "EXA_BASE_URL": web.url},
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def rc(tool_server) -> openai.OpenAI:
    return tool_server.client()


def create(rc, server, **kw):
    kw.setdefault("max_output_tokens", 120)
    seed = kw.pop("seed", 0)
    return rc.responses.create(model=server.model, extra_body={"seed": seed}, **kw)


def mcp(label: str, *allowed: str) -> dict:
    tool = {"type": "mcp", "server_label": label, "require_approval": "never"}
    if allowed:
        tool["allowed_tools"] = list(allowed)
    return tool


def ended_well(r) -> None:
    """The loop ran to an end of its own: never a failed response."""
    assert r.status in ("completed", "incomplete"), (r.status, r.error)
    if r.status == "incomplete":
        assert r.incomplete_details.reason in ("max_output_tokens", "max_tool_calls")


# ---- MCP -----------------------------------------------------------------------------------
def test_mcp_call_over_http_runs_on_the_server(rc, tool_server):
    r = create(
        rc,
        tool_server,
        input="Add two numbers.",
        tools=[mcp("http", "add", "echo")],
        tool_choice={"type": "mcp", "server_label": "http", "name": "add"},
    )
    ended_well(r)
    listing, call = r.output[0], r.output[1]
    assert listing.type == "mcp_list_tools" and listing.server_label == "http"
    assert {t.name for t in listing.tools} == {"add", "echo"}
    assert call.type == "mcp_call" and call.name == "add" and call.server_label == "http"
    args = json.loads(call.arguments)
    assert call.status == "completed" and call.output == str(args["a"] + args["b"])
    assert r.usage.input_tokens > 0 and r.usage.output_tokens > 0
    assert rc.responses.retrieve(r.id).output[1].output == call.output


def test_mcp_call_over_stdio(rc, tool_server):
    r = create(
        rc,
        tool_server,
        input="Say something.",
        tools=[mcp("local")],
        tool_choice={"type": "mcp", "server_label": "local", "name": "echo"},
        seed=3,
    )
    ended_well(r)
    call = next(o for o in r.output if o.type == "mcp_call")
    assert call.output == "echo: " + json.loads(call.arguments)["text"]


def test_failing_slow_and_unreachable_tools_become_error_results(rc, tool_server, mcp_servers):
    for label, name, expected in (("http", "broken", "broken"), ("http", "slow", "timed out")):
        r = create(
            rc,
            tool_server,
            input="Go.",
            tools=[mcp(label)],
            tool_choice={"type": "mcp", "server_label": label, "name": name},
            max_output_tokens=60,
        )
        ended_well(r)
        call = next(o for o in r.output if o.type == "mcp_call")
        assert call.status == "failed" and expected in call.error, call
    mcp_servers["flaky"].stop()  # its tools stay listed; calls now fail, the request goes on
    r = create(
        rc,
        tool_server,
        input="Go.",
        tools=[mcp("flaky")],
        tool_choice={"type": "mcp", "server_label": "flaky", "name": "add"},
        max_output_tokens=60,
    )
    ended_well(r)
    call = next(o for o in r.output if o.type == "mcp_call")
    assert call.status == "failed" and call.error  # "Connection closed", then "unavailable"
    r = create(rc, tool_server, input="Hello?", tools=[mcp("down")], max_output_tokens=20)
    ended_well(r)
    assert r.output[0].type == "mcp_list_tools" and "unavailable" in r.output[0].error


# ---- streaming -----------------------------------------------------------------------------
def test_stream_events_are_well_formed_and_match_the_plain_answer(rc, tool_server):
    kw = dict(
        input="Add two numbers.",
        tools=[mcp("http", "add")],
        tool_choice="required",
        seed=5,
    )
    plain = create(rc, tool_server, **kw)
    events = list(create(rc, tool_server, stream=True, **kw))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[0].type == "response.created" and events[1].type == "response.in_progress"
    assert events[-1].type in ("response.completed", "response.incomplete")
    added = {e.output_index: e.item for e in events if e.type == "response.output_item.added"}
    done = {e.output_index: e.item for e in events if e.type == "response.output_item.done"}
    assert added.keys() == done.keys() and all(added[i].id == done[i].id for i in added)
    final = events[-1].response
    streamed: dict[str, str] = {}
    for e in events:
        if e.type == "response.mcp_call_arguments.delta":
            streamed[e.item_id] = streamed.get(e.item_id, "") + e.delta
    calls = [o for o in final.output if o.type == "mcp_call"]
    assert calls and streamed == {o.id: o.arguments for o in calls}
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == final.output_text
    assert [done[i].model_dump(exclude={"id"}) for i in sorted(done)] == [
        o.model_dump(exclude={"id"}) for o in final.output
    ]

    def shape(response):
        return [
            (o.type, getattr(o, "arguments", None), getattr(o, "output", None))
            for o in response.output
        ], response.output_text

    assert shape(final) == shape(plain)
    assert final.status == plain.status and final.usage.output_tokens == plain.usage.output_tokens


def test_function_calls_go_to_the_client_and_its_outputs_continue_the_turn(rc, tool_server):
    with rc.responses.stream(
        model=tool_server.model,
        input="Weather in Paris?",
        tools=[WEATHER],
        tool_choice="required",
        max_output_tokens=80,
        extra_body={"seed": 2},
    ) as stream:
        deltas = "".join(
            e.delta for e in stream if e.type == "response.function_call_arguments.delta"
        )
        first = stream.get_final_response()
    assert first.status == "completed"
    call = first.output[-1]
    assert call.type == "function_call" and call.name == "get_weather"
    assert call.call_id.startswith("call_") and deltas == call.arguments
    jsonschema.validate(json.loads(call.arguments), WEATHER["parameters"])
    second = create(
        rc,
        tool_server,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=[WEATHER],  # tools are not carried over (as OpenAI): the client sends them again
        max_output_tokens=10,
    )
    ended_well(second)
    assert second.previous_response_id == first.id
    assert second.usage.input_tokens > first.usage.input_tokens


# ---- built-in tools ------------------------------------------------------------------------
def test_python_runs_in_the_sandbox_and_its_result_goes_back(rc, tool_server):
    r = create(
        rc,
        tool_server,
        input="Compute 2**10.",
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
        tool_choice={"type": "code_interpreter"},
        max_output_tokens=200,
        seed=4,
    )
    ended_well(r)
    call = r.output[0]
    assert call.type == "code_interpreter_call" and call.status == "completed"
    assert call.container_id.startswith("cntr_")
    # random code rarely runs; either way its output (or traceback) is what the model got
    assert call.outputs and call.outputs[0].type == "logs" and call.outputs[0].logs


def test_web_search_uses_the_search_backend(rc, tool_server, web):
    before = len(web.searches)
    r = create(
        rc,
        tool_server,
        input="Weather in Paris?",
        tools=[{"type": "web_search"}],
        tool_choice={"type": "function", "name": "browser.search"},
        max_output_tokens=150,
        seed=1,
    )
    ended_well(r)
    call = r.output[0]
    assert call.type == "web_search_call" and call.status == "completed"
    assert call.action.type == "search"
    assert web.searches[before]["query"] == call.action.query
    assert [s.url for s in call.action.sources] == [web.url + "/page.html", web.url + "/plain.txt"]
    r = create(
        rc,
        tool_server,
        input="Browse.",
        tools=[{"type": "web_search_preview"}],
        tool_choice={"type": "web_search_preview"},
        max_output_tokens=150,
        seed=6,
    )
    ended_well(r)
    assert r.output[0].type == "web_search_call"
    assert r.output[0].status in ("completed", "failed")


def test_max_tool_calls_ends_the_loop_with_a_reason(rc, tool_server):
    r = create(
        rc,
        tool_server,
        input="Compute.",
        tools=[{"type": "code_interpreter"}],
        tool_choice="required",
        max_tool_calls=0,
        max_output_tokens=300,
    )
    assert r.status == "incomplete" and r.incomplete_details.reason == "max_tool_calls"
    assert r.output[0].status == "incomplete" and r.output[0].outputs == []


def test_a_client_that_goes_away_stops_the_loop(rc, tool_server):
    stream = create(
        rc,
        tool_server,
        input="Go.",
        tools=[mcp("http", "slow")],
        tool_choice="required",
        stream=True,
    )
    response_id = None
    for event in stream:
        if event.type == "response.created":
            response_id = event.response.id
        if event.type == "response.mcp_call_arguments.done":
            break  # the server now runs `slow` (30 s); we leave
    stream.close()
    deadline = time.monotonic() + 20
    status = None
    while time.monotonic() < deadline and status != "cancelled":
        time.sleep(0.5)
        with contextlib.suppress(openai.NotFoundError):
            status = rc.responses.retrieve(response_id).status
    assert status == "cancelled"
    ended_well(create(rc, tool_server, input="Still there?", max_output_tokens=5))


# ---- refusals ------------------------------------------------------------------------------
BAD = {
    "input[0].type": dict(input=[{"type": "computer_call_output", "call_id": "x"}]),
    "input[0].content[0]": dict(
        input=[{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]
    ),
    "tools[0].parameters": dict(
        input="x",
        tools=[
            {
                "type": "function",
                "name": "f",
                "parameters": {"type": "object", "properties": {"a": {"not": {}}}},
            }
        ],
    ),
    "tools[0].name": dict(input="x", tools=[dict(WEATHER, name="get weather")]),
    "tools[1]": dict(input="x", tools=[dict(WEATHER, name="python"), {"type": "code_interpreter"}]),
    "tools[0].server_label": dict(input="x", tools=[mcp("nowhere")]),
    "tools[0].server_url": dict(
        input="x", tools=[dict(mcp("mine"), server_url="http://127.0.0.1:1/mcp")]
    ),
    "tools[0].allowed_tools": dict(input="x", tools=[mcp("http", "unique")]),
    "tools[0].require_approval": dict(
        input="x", tools=[dict(mcp("http"), require_approval="always")]
    ),
    "tools[0].container": dict(input="x", tools=[{"type": "code_interpreter", "container": "c1"}]),
    "tool_choice.name": dict(
        input="x", tools=[WEATHER], tool_choice={"type": "function", "name": "g"}
    ),
    "text.format.schema": dict(
        input="x",
        text={"format": {"type": "json_schema", "name": "s", "schema": {"uniqueItems": True}}},
    ),
    "max_tool_calls": dict(input="x", max_tool_calls=5),
    "reasoning.summary": dict(input="x", reasoning={"summary": "detailed"}),
    "input": dict(input=[]),
}


@pytest.mark.parametrize("param", list(BAD))
def test_bad_requests_get_a_400_naming_the_field(rc, tool_server, param):
    with pytest.raises(openai.BadRequestError) as info:
        rc.responses.create(model=tool_server.model, **BAD[param])
    assert info.value.body["param"] == param, info.value.body
    assert info.value.body["message"]


def test_unknown_ids_and_fields_are_refused(rc, tool_server):
    with pytest.raises(openai.NotFoundError) as info:
        rc.responses.create(model=tool_server.model, input="x", previous_response_id="resp_nope")
    assert info.value.body["param"] == "previous_response_id"
    with pytest.raises(openai.NotFoundError):
        rc.responses.retrieve("resp_nope")
    with pytest.raises(openai.BadRequestError) as info:
        rc.responses.create(model=tool_server.model, input="x", extra_body={"colour": "red"})
    assert info.value.body["param"] == "colour"
    with pytest.raises(openai.BadRequestError) as info:
        rc.responses.create(model=tool_server.model, input="x", tools=[{"type": "file_search"}])
    assert info.value.body["param"].startswith("tools[0]")


# ---- stored conversations ------------------------------------------------------------------
def test_a_stored_conversation_survives_a_restart(tmp_path):
    store = tmp_path / "responses.db"
    first = Server(tiny_model(), "--store", str(store))
    try:
        rc = first.client()
        called = create(rc, first, input="Weather?", tools=[WEATHER], tool_choice="required")
        plain = create(rc, first, input="Hello.", max_output_tokens=8)
    finally:
        first.stop()
    assert oct(store.stat().st_mode & 0o777) == "0o600"
    second = Server(tiny_model(), "--store", str(store))
    try:
        rc = second.client()
        again = rc.responses.retrieve(plain.id)
        assert again.model_dump() == plain.model_dump()
        call = called.output[-1]
        follow = create(
            rc,
            second,
            previous_response_id=called.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
            tools=[WEATHER],
            max_output_tokens=8,
        )
        ended_well(follow)
        assert follow.usage.input_tokens > called.usage.input_tokens
        items = rc.responses.input_items.list(follow.id)
        assert [i.type for i in items.data] == ["function_call_output"]
        # no --tool-server: built-in tools and request MCP URLs are refused by name
        for tools, param in (
            ([{"type": "code_interpreter"}], "tools[0].type"),
            ([dict(mcp("x"), server_url="https://mcp.example/mcp")], "tools[0].server_url"),
        ):
            with pytest.raises(openai.BadRequestError) as info:
                rc.responses.create(model=second.model, input="x", tools=tools)
            assert info.value.body["param"] == param
        rc.responses.delete(plain.id)
        with pytest.raises(openai.NotFoundError):
            rc.responses.retrieve(plain.id)
    finally:
        second.stop()


def test_max_output_tokens_beyond_the_context_is_a_bound_not_an_error(demo_model):
    """max_output_tokens caps a whole response; each step is fitted to the room its prompt
    leaves, so a long loop (or a generous cap) ends as incomplete, never as a refusal."""
    server = Server(demo_model, "--max-model-len", "400", "--tool-server", "demo")
    try:
        r = server.client().responses.create(
            model=server.model,
            input="Run some code.",
            tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
            tool_choice="required",
            max_output_tokens=100_000,
            extra_body={"seed": 1},
        )
        ended_well(r)
        assert r.usage.input_tokens + r.usage.output_tokens > 0
    finally:
        server.stop()
