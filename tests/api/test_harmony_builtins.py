"""gpt-oss's built-in tools end to end: /v1/responses with the tiny gpt-oss model, called the
Harmony way (`to=python`, `to=browser.search` on the analysis channel), run by the server, and
shown to the model natively in the next step's prompt.

The model has random weights, so a forced call may not finish within the token budget; each
test takes the first of a few seeds whose forced call completed. Whether the next steps'
prompts were the native ones is checked through the usage: the prompt tokens the server
counted must be those of the prompts rendered natively from the stored conversation.
"""

from __future__ import annotations

import json

import openai
import pytest

from strictcall.api.responses.store import ResponseStore
from strictcall.chat.render import render
from strictcall.chat.tokenizer import load_tokenizer
from tests.api.test_families import GPT_OSS
from tests.conftest import Server, tiny_model
from tests.tools.web import API_KEY, LocalWeb

SEEDS = (4, 1, 5, 7, 9, 11)
BUDGET = 2500  # output tokens per response (the tiny model's context is 8192)


@pytest.fixture(scope="module")
def web():
    w = LocalWeb()
    yield w
    w.close()


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    return tmp_path_factory.mktemp("store") / "responses.db"


@pytest.fixture(scope="module")
def server(web, store_path):
    s = Server(
        tiny_model(GPT_OSS),
        *("--tool-server", "demo", "--store", str(store_path), "--python-timeout", "10"),
        "--browser-allow-private",
        env={"EXA_API_KEY": API_KEY, "EXA_BASE_URL": web.url},
    )
    yield s
    s.stop()


@pytest.fixture(scope="module")
def rc(server) -> openai.OpenAI:
    return server.client()


@pytest.fixture(scope="module")
def tokenizer(server):
    return load_tokenizer(server.model)


def create(rc, server, seed, **kw):
    kw.setdefault("max_output_tokens", BUDGET)
    return rc.responses.create(model=server.model, extra_body={"seed": seed}, **kw)


def first_completed_call(rc, server, kind: str, **kw):
    """(seed, response, its first `kind` item) for the first seed whose forced call ran."""
    for seed in SEEDS:
        r = create(rc, server, seed, **kw)
        assert r.status in ("completed", "incomplete"), (r.status, r.error)
        calls = [o for o in r.output if o.type == kind]
        assert calls, [o.type for o in r.output]  # the call is forced
        if calls[0].status == "completed":
            return seed, r, calls[0]
    pytest.fail(f"no seed of {SEEDS} completed a {kind}")


def native_prompts(response_id: str, store_path, tokenizer, builtins: list[str]) -> list[str]:
    """The prompt of each generation of a response, rendered from its stored conversation."""
    conversation = ResponseStore(store_path).get(response_id).conversation
    kwargs = {"builtin_tools": builtins}
    return [
        render(tokenizer, conversation[:i], None, template_kwargs=kwargs, renderer="harmony").text
        for i, m in enumerate(conversation)
        if m["role"] == "assistant"
    ]


def check_prompts(r, store_path, tokenizer, builtins) -> list[str]:
    prompts = native_prompts(r.id, store_path, tokenizer, builtins)
    assert len(prompts) >= 2  # the loop ran: a second generation read the result
    assert r.usage.input_tokens == sum(len(tokenizer.encode(p)) for p in prompts)
    assert all("namespace functions" not in p for p in prompts)
    return prompts


# ---- python --------------------------------------------------------------------------------
def test_python_is_called_natively_and_run_and_the_next_step_sees_both(
    rc, server, store_path, tokenizer
):
    _, r, call = first_completed_call(
        rc,
        server,
        "code_interpreter_call",
        input="Compute 2**10.",
        tools=[{"type": "code_interpreter"}],
        tool_choice={"type": "code_interpreter"},
    )
    assert call.container_id.startswith("cntr_") and call.code
    logs = call.outputs[0].logs
    assert call.outputs[0].type == "logs" and logs  # random code: usually its traceback
    second = check_prompts(r, store_path, tokenizer, ["python"])[1]
    stored = ResponseStore(store_path).get(r.id).conversation
    made = next(m for m in stored if m.get("tool_calls"))["tool_calls"][0]["function"]
    assert made["name"] == "python" and json.loads(made["arguments"]) == {"code": call.code}
    result = next(m for m in stored if m["role"] == "tool")["content"]
    assert (
        f"<|start|>assistant to=python<|channel|>analysis code<|message|>{call.code}<|call|>"
        f"<|start|>python to=assistant<|channel|>analysis<|message|>{result}<|end|>"
        "<|start|>assistant"
    ) in second
    assert second.endswith("<|start|>assistant")
    assert "## python" in second and "namespace browser" not in second


def test_streaming_gives_the_same_python_response(rc, server):
    kw = dict(
        input="Compute 2**10.",
        tools=[{"type": "code_interpreter"}],
        tool_choice={"type": "code_interpreter"},
    )
    seed, plain, call = first_completed_call(rc, server, "code_interpreter_call", **kw)
    events = list(create(rc, server, seed, stream=True, **kw))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1].response
    assert events[-1].type in ("response.completed", "response.incomplete")
    index = next(i for i, o in enumerate(final.output) if o.type == "code_interpreter_call")
    kinds = [e.type for e in events if getattr(e, "output_index", None) == index]
    assert kinds == [
        "response.output_item.added",
        "response.code_interpreter_call.in_progress",
        "response.code_interpreter_call_code.done",
        "response.code_interpreter_call.interpreting",
        "response.code_interpreter_call.completed",
        "response.output_item.done",
    ]
    code = next(e.code for e in events if e.type == "response.code_interpreter_call_code.done")
    assert code == call.code == final.output[index].code

    def shape(response):
        return [
            (o.type, o.status, getattr(o, "code", None), getattr(o, "outputs", None))
            for o in response.output
        ], response.output_text

    assert shape(final) == shape(plain)
    assert final.usage.input_tokens == plain.usage.input_tokens
    assert final.usage.output_tokens == plain.usage.output_tokens


# ---- browser -------------------------------------------------------------------------------
def test_browser_search_is_called_natively_and_the_next_step_sees_the_results(
    rc, server, web, store_path, tokenizer
):
    before = len(web.searches)
    _, r, call = first_completed_call(
        rc,
        server,
        "web_search_call",
        input="Weather in Paris?",
        tools=[{"type": "web_search"}],
        tool_choice={"type": "function", "name": "browser.search"},
    )
    assert call.action.type == "search"
    assert web.searches[before:] and web.searches[-1]["query"] == call.action.query
    second = check_prompts(r, store_path, tokenizer, ["browser"])[1]
    stored = ResponseStore(store_path).get(r.id).conversation
    made = next(m for m in stored if m.get("tool_calls"))["tool_calls"][0]["function"]
    assert made["name"] == "browser.search"
    args = json.loads(made["arguments"])
    assert args["query"] == call.action.query
    result = next(m for m in stored if m["role"] == "tool")["content"]
    assert "【0†Paris weather" in result and "Sunny, 21" in result  # the results page
    assert (
        "<|start|>assistant to=browser.search<|channel|>analysis code<|message|>"
        f"{json.dumps(args, ensure_ascii=False)}<|call|>"
        f"<|start|>browser.search to=assistant<|channel|>analysis<|message|>{result}<|end|>"
        "<|start|>assistant"
    ) in second
    assert "namespace browser {" in second and "## python" not in second


def test_streaming_web_search_forced_by_its_type(rc, server):
    kw = dict(
        input="Weather in Paris?",
        tools=[{"type": "web_search"}],
        tool_choice={"type": "web_search"},
    )
    seed, plain, _ = first_completed_call(rc, server, "web_search_call", **kw)
    events = list(create(rc, server, seed, stream=True, **kw))
    final = events[-1].response
    assert final.status == plain.status
    calls = [o for o in final.output if o.type == "web_search_call"]
    assert calls[0].status == "completed"
    assert [e.type for e in events if e.type.startswith("response.web_search_call")][:3] == [
        "response.web_search_call.in_progress",
        "response.web_search_call.searching",
        "response.web_search_call.completed",
    ]
    assert [(o.type, o.status) for o in final.output] == [(o.type, o.status) for o in plain.output]
    assert final.output_text == plain.output_text
