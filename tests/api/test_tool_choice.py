"""Every tool_choice mode, enforced by grammar, through the official client (issue 2, §5/§7).

A random-weight model is the harshest test of a grammar: it wants nothing in particular, so
every valid call it makes is the grammar's doing. Hundreds of generations run here.
"""

from __future__ import annotations

import asyncio
import json

import jsonschema
import pytest
from transformers import AutoTokenizer

from tests.api.toolsets import SCHEMAS, TOOLS

SEEDS = range(24)


@pytest.fixture(scope="module")
def token_ids(demo_model):
    tok = AutoTokenizer.from_pretrained(demo_model)
    return {"call": tok.convert_tokens_to_ids("<tool_call>"), "eos": tok.eos_token_id}


def check_calls(calls) -> None:
    for call in calls or []:
        assert call.type == "function"
        assert call.id.startswith("call_") and len(call.id) == 29
        assert call.function.name in SCHEMAS, call.function.name
        args = json.loads(call.function.arguments)
        jsonschema.validate(args, SCHEMAS[call.function.name])


async def run(aclient, model, **kw):
    return await aclient.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Weather in Paris, then book me a flight?"}],
        tools=TOOLS,
        max_tokens=400,
        **kw,
    )


def gather(server, jobs):
    async def main():
        async with server.async_client() as aclient:
            return await asyncio.gather(*(run(aclient, server.model, **kw) for kw in jobs))

    return asyncio.run(main())


MODES = {
    "auto": {"tool_choice": "auto"},
    "auto-default": {},
    "required": {"tool_choice": "required"},
    "required-single": {"tool_choice": "required", "parallel_tool_calls": False},
    "auto-single": {"tool_choice": "auto", "parallel_tool_calls": False},
    "named-weather": {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
    "named-flight": {"tool_choice": {"type": "function", "function": {"name": "book.flight"}}},
    "named-noargs": {"tool_choice": {"type": "function", "function": {"name": "get-time"}}},
    "none": {"tool_choice": "none"},
}


@pytest.mark.parametrize("mode", list(MODES))
def test_every_call_is_valid_in_every_mode(server, token_ids, mode):
    kw = dict(MODES[mode])
    # Push the model toward the call marker (and the end), so that auto mode calls often and
    # none mode proves the marker unreachable even when the model wants it badly.
    bias = {str(token_ids["call"]): 100 if mode == "none" else 4, str(token_ids["eos"]): 2}
    jobs = [dict(kw, seed=s, logit_bias=bias) for s in SEEDS]
    responses = gather(server, jobs)
    called = 0
    for r in responses:
        choice = r.choices[0]
        calls = choice.message.tool_calls or []
        check_calls(calls)
        called += bool(calls)
        if mode == "none":
            assert not calls
            assert "<tool_call>" not in (choice.message.content or "")
            continue
        if choice.finish_reason == "length":
            continue  # cut off: whatever was produced is returned as content
        if mode.startswith(("required", "named")):
            assert calls, choice
            assert choice.finish_reason == "tool_calls"
            assert choice.message.content is None
        if mode.startswith("named"):
            expected = MODES[mode]["tool_choice"]["function"]["name"]
            assert [c.function.name for c in calls] == [expected]
        if mode.endswith("single"):
            assert len(calls) <= 1
        if calls:
            assert choice.finish_reason == "tool_calls"
    if mode.startswith("auto"):
        assert called >= len(SEEDS) // 3, "auto mode should produce calls under this bias"


def test_auto_mixes_text_and_calls_and_many_calls(server, token_ids):
    bias = {str(token_ids["call"]): 3}
    responses = gather(server, [dict(seed=100 + s, logit_bias=bias) for s in range(24)])
    texts = [r for r in responses if r.choices[0].message.content]
    multi = [r for r in responses if len(r.choices[0].message.tool_calls or []) > 1]
    assert texts and multi
    for r in responses:
        check_calls(r.choices[0].message.tool_calls)


def _stream_message(client, model, **kw):
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=TOOLS,
        max_tokens=400,
        stream=True,
        stream_options={"include_usage": True},
        **kw,
    )
    content, calls, finish, usage, roles = "", {}, None, None, []
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        if delta.role:
            roles.append(delta.role)
        content += delta.content or ""
        for tc in delta.tool_calls or []:
            if tc.id is not None:
                assert tc.index not in calls, "a call is announced once"
                assert tc.type == "function" and tc.function.name
                calls[tc.index] = {"id": tc.id, "name": tc.function.name, "arguments": ""}
            calls[tc.index]["arguments"] += tc.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert roles == ["assistant"]
    return content or None, [calls[i] for i in sorted(calls)], finish, usage


@pytest.mark.parametrize("mode", ["auto", "required", "named-flight", "none", "auto-single"])
def test_stream_reassembles_to_the_same_message(server, client, token_ids, mode):
    kw = dict(MODES[mode], logit_bias={str(token_ids["call"]): 4})
    for seed in range(4):
        whole = client.chat.completions.create(
            model=server.model,
            messages=[{"role": "user", "content": "Weather in Paris?"}],
            tools=TOOLS,
            max_tokens=400,
            seed=seed,
            **kw,
        )
        content, calls, finish, usage = _stream_message(client, server.model, seed=seed, **kw)
        assert finish == whole.choices[0].finish_reason
        if finish == "length":
            continue  # a cut-off call: streamed as fragments, returned whole as content
        message = whole.choices[0].message
        assert content == message.content
        assert [(c["name"], c["arguments"]) for c in calls] == [
            (c.function.name, c.function.arguments) for c in message.tool_calls or []
        ]
        assert finish == whole.choices[0].finish_reason
        assert usage.completion_tokens == whole.usage.completion_tokens
        assert usage.prompt_tokens == whole.usage.prompt_tokens
        for c in calls:
            jsonschema.validate(json.loads(c["arguments"]), SCHEMAS[c["name"]])


def test_call_cut_by_max_tokens_returns_what_was_generated(client, server):
    r = client.chat.completions.create(
        model=server.model,
        messages=[{"role": "user", "content": "Book a flight"}],
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "book.flight"}},
        max_tokens=12,
        seed=3,
    )
    choice = r.choices[0]
    assert choice.finish_reason == "length"
    assert not choice.message.tool_calls
    # any of Hermes' openings (<tool_call>, a bare body, a json fence), then the named call
    openings = ("<tool_call>\n", "```json\n", "")
    assert choice.message.content.startswith(tuple(o + '{"name": "book' for o in openings))
    assert r.usage.completion_tokens == 12


def test_multi_turn_history_with_tool_results(client, server):
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
        {"role": "user", "content": "And book a flight."},
    ]
    r = client.chat.completions.create(
        model=server.model,
        messages=messages,
        tools=TOOLS,
        tool_choice="required",
        seed=1,
        max_tokens=400,
    )
    assert r.choices[0].finish_reason == "tool_calls"
    check_calls(r.choices[0].message.tool_calls)
