"""gpt-oss (Harmony) end to end: a tiny model with the Harmony tokens and the real template.

The answers are checked against an oracle built from the raw tokens (logprobs list every token
generated, control tokens included): the output is split at its control tokens, independently
of our parser, and the response must hold exactly what the channels say.
"""

from __future__ import annotations

import asyncio
import json
import re
from types import SimpleNamespace

import jsonschema
import pytest
from transformers import AutoTokenizer

from strictcall.api.errors import APIError
from strictcall.api.pipeline import PipelineRequest
from strictcall.api.pipeline.checks import reasoning_effort
from strictcall.chat.render import template_messages
from strictcall.formats import get_format
from tests.api.family_harness import bias_for, reasoning_of
from tests.api.test_families import GPT_OSS
from tests.api.toolsets import SCHEMAS, TOOLS
from tests.conftest import DATA, Server, tiny_model

RUNS = 200  # generations per mode, non-streaming
STREAMED = 16  # of those, also streamed and compared
MODES = {
    "auto": {"tool_choice": "auto"},
    "required": {"tool_choice": "required"},
    "named": {"tool_choice": {"type": "function", "function": {"name": "book.flight"}}},
    "none": {"tool_choice": "none"},
    "single": {"tool_choice": "required", "parallel_tool_calls": False},
}
ENDS = ("<|end|>", "<|call|>", "<|return|>")
USER = [{"role": "user", "content": "Weather in Paris, and book a flight?"}]
# short messages, and calls often enough in auto mode
FAVOUR = {"<|end|>": 5, "<|return|>": 5, "commentary": 2, " to": 2}


@pytest.fixture(scope="module")
def server():
    s = Server(tiny_model(GPT_OSS))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def bias(server):
    return bias_for(server.model, FAVOUR)


def oracle(tokens) -> dict:
    """What the answer must be, read from the raw tokens (logprobs entries) by splitting the
    output at its control tokens."""
    messages, header, body, in_body = [], b"", b"", False
    for t in tokens:
        if t.token == "<|message|>":
            in_body = True
        elif t.token in ENDS:
            messages.append((header.decode(), body.decode(errors="replace"), t.token))
            header, body, in_body = b"", b"", False
        elif t.token != "<|start|>":
            if in_body:
                body += bytes(t.bytes)
            else:
                header += bytes(t.bytes)
    reasoning, content, calls, channels = [], [], [], []
    for head, text, _end in messages:
        channels.append(re.search(r"<\|channel\|>(\w+)", head).group(1))
        if m := re.search(r"to=functions\.(\S+)", head):
            calls.append((m.group(1), text))
        elif channels[-1] == "analysis":
            reasoning.append(text)
        else:
            content.append(text)
    return {
        "reasoning": "\n".join(t for t in reasoning if t) or None,
        "content": "\n".join(t for t in content if t) or None,
        "calls": calls,
        "channels": channels,
        "headers": [h for h, _, _ in messages],
        "ends": [e for _, _, e in messages],
    }


async def _stream(aclient, request) -> dict:
    reasoning, content, calls, finish = "", "", {}, None
    async for chunk in await aclient.chat.completions.create(stream=True, **request):
        d = chunk.choices[0].delta
        extra = d.model_extra or {}
        assert extra.get("reasoning_content") == extra.get("reasoning")
        reasoning += extra.get("reasoning_content") or ""
        content += d.content or ""
        for tc in d.tool_calls or []:
            if tc.id:
                calls[tc.index] = [tc.function.name, ""]
            calls[tc.index][1] += tc.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    return {
        "reasoning": reasoning or None,
        "content": content or None,
        "calls": [tuple(calls[i]) for i in sorted(calls)],
        "finish": finish,
    }


def _run_mode(server, bias, mode):
    def request(seed):
        return dict(
            model=server.model,
            messages=USER,
            tools=TOOLS,
            max_tokens=400,
            seed=seed,
            logit_bias=bias,
            **MODES[mode],
        )

    async def main():
        async with server.async_client() as aclient:
            whole = [
                aclient.chat.completions.create(logprobs=True, **request(s)) for s in range(RUNS)
            ]
            streamed = [_stream(aclient, request(s)) for s in range(STREAMED)]
            return await asyncio.gather(*whole), await asyncio.gather(*streamed)

    return asyncio.run(main())


class _Runs:
    """Each mode's generations, run when a test first asks for that mode: a failure there
    fails that mode's tests only, not every test of the module."""

    def __init__(self, server, bias):
        self.server, self.bias = server, bias
        self.done: dict[str, tuple] = {}

    def __getitem__(self, mode: str) -> tuple:
        if mode not in self.done:
            self.done[mode] = _run_mode(self.server, self.bias, mode)
        return self.done[mode]


@pytest.fixture(scope="module")
def runs(server, bias):
    return _Runs(server, bias)


@pytest.mark.parametrize("mode", list(MODES))
def test_every_answer_is_what_its_channels_say(runs, mode):
    """Reasoning only in reasoning_content, preambles and answers in content, calls valid."""
    whole, _ = runs[mode]
    for r in whole:
        choice = r.choices[0]
        raw = choice.logprobs.content
        want = oracle(raw)
        calls = [(c.function.name, c.function.arguments) for c in choice.message.tool_calls or []]
        for name, arguments in calls:
            jsonschema.validate(json.loads(arguments), SCHEMAS[name])
        if choice.finish_reason == "length":
            continue  # cut off inside a message: checked by the streaming comparison below
        assert reasoning_of(choice) == want["reasoning"]
        assert choice.message.content == want["content"]
        assert calls == want["calls"]
        assert choice.finish_reason == ("tool_calls" if calls else "stop")
        assert raw[-1].token == ("<|call|>" if calls else "<|return|>")  # the turn ends there


@pytest.mark.parametrize("mode", list(MODES))
def test_tool_choice_is_honoured(runs, mode):
    whole, _ = runs[mode]
    done = [r.choices[0] for r in whole if r.choices[0].finish_reason != "length"]
    assert len(done) >= RUNS * 0.8, f"{RUNS - len(done)} answers cut by max_tokens"
    called = 0
    for choice in done:
        want = oracle(choice.logprobs.content)
        calls = choice.message.tool_calls or []
        called += bool(calls)
        if mode == "none":
            assert not calls and not any("to=" in h for h in want["headers"])
        if mode in ("required", "named", "single"):
            assert len(calls) == 1 and choice.finish_reason == "tool_calls"
            assert "final" not in want["channels"]
        if mode == "named":
            assert calls[0].function.name == "book.flight"
    if mode == "auto":
        assert 0 < called < len(done), "auto should both answer and call under this bias"


@pytest.mark.parametrize("mode", list(MODES))
def test_reasoning_survives_every_mode(runs, mode):
    whole, _ = runs[mode]
    thought = [r.choices[0] for r in whole if reasoning_of(r.choices[0])]
    assert thought, "the model never reasoned"
    if mode in ("required", "named", "single"):
        assert any(c.message.tool_calls for c in thought), "reasoning before a forced call"


@pytest.mark.parametrize("mode", list(MODES))
def test_streaming_matches_the_whole_answer(runs, mode):
    whole, streamed = runs[mode]
    for r, s in zip(whole, streamed, strict=False):
        choice = r.choices[0]
        assert s["finish"] == choice.finish_reason
        if choice.finish_reason == "length":
            continue  # a cut call is streamed as fragments but returned whole as content
        assert s["reasoning"] == reasoning_of(choice)
        assert s["content"] == choice.message.content
        assert s["calls"] == [
            (c.function.name, c.function.arguments) for c in choice.message.tool_calls or []
        ]


def test_format_is_detected_from_the_template(server):
    assert server.client().models.list().data[0].model_extra["tool_format"] == "openai"


def test_without_tools_any_output_is_answered(server):
    """No tools, no grammar: a random model writes anything; the answer never fails."""
    client = server.client()
    for seed in range(12):
        r = client.chat.completions.create(
            model=server.model, messages=USER, max_tokens=60, seed=seed
        )
        assert r.choices[0].finish_reason in ("stop", "length")
        assert not r.choices[0].message.tool_calls
        chunks = client.chat.completions.create(
            model=server.model, messages=USER, max_tokens=60, seed=seed, stream=True
        )
        assert [c.choices[0].finish_reason for c in chunks][-1] in ("stop", "length")


def test_multi_turn_with_a_tool_result(server, bias):
    messages = [
        {"role": "system", "content": "Be brief."},
        *USER,
        {
            "role": "assistant",
            "content": None,
            "reasoning_content": "I need the weather first.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
    ]
    client = server.client()
    r = client.chat.completions.create(
        model=server.model,
        messages=messages,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "book.flight"}},
        max_tokens=400,
        seed=1,
        logit_bias=bias,
    )
    assert r.choices[0].finish_reason == "tool_calls"
    assert r.choices[0].message.tool_calls[0].function.name == "book.flight"
    # the server's prompt is as long as the gpt-oss template's rendering of the conversation
    tok = AutoTokenizer.from_pretrained(server.model)
    template = (DATA / "templates" / "openai-gpt-oss-120b.jinja").read_text()
    fixed = template_messages([{**m, "content": m["content"] or ""} for m in messages])
    text = tok.apply_chat_template(
        fixed, tools=TOOLS, chat_template=template, add_generation_prompt=True, tokenize=False
    )
    assert "<|channel|>analysis<|message|>I need the weather first.<|end|>" in text
    assert r.usage.prompt_tokens == len(tok.encode(text, add_special_tokens=False))
    # and with the model's answer appended, the conversation goes on
    answer = r.choices[0].message
    messages += [
        answer.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": answer.tool_calls[0].id, "content": "booked"},
        {"role": "user", "content": "Thanks!"},
    ]
    r = client.chat.completions.create(
        model=server.model, messages=messages, tools=TOOLS, max_tokens=50, seed=2
    )
    assert r.choices[0].finish_reason in ("stop", "length", "tool_calls")


def test_reasoning_effort_is_checked_against_the_family(server):
    client = server.client()
    for effort in ("low", "high"):
        r = client.chat.completions.create(
            model=server.model, messages=USER, reasoning_effort=effort, max_tokens=5
        )
        assert r.choices
    with pytest.raises(Exception) as info:
        client.chat.completions.create(
            model=server.model, messages=USER, reasoning_effort="minimal", max_tokens=5
        )
    assert info.value.status_code == 400
    assert info.value.body["param"] == "reasoning_effort"


@pytest.mark.parametrize(
    ("request_effort", "kwargs", "expected"),
    [
        (None, None, None),
        ("low", None, "low"),
        ("low", {"reasoning_effort": "medium"}, "medium"),
    ],
)
def test_reasoning_effort_precedence(request_effort, kwargs, expected):
    req = PipelineRequest(USER, reasoning_effort=request_effort, template_kwargs=kwargs or {})
    state = SimpleNamespace(fmt=get_format("openai"), config=SimpleNamespace(reasoning_effort=None))
    assert reasoning_effort(req, state) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("request_effort", "expected"), [(None, "high"), ("low", "low")])
def test_server_default_effort_reaches_the_prompt(request_effort, expected):
    """--reasoning-effort fills in for requests that name none, for every API (the pipeline)."""
    from strictcall.api.chat.translate import to_pipeline
    from strictcall.api.pipeline import plan_request
    from strictcall.api.schemas import ChatCompletionRequest
    from strictcall.api.state import ServerConfig, make_state
    from strictcall.chat.tokenizer import load_tokenizer

    model = tiny_model(GPT_OSS)
    tokenizer = load_tokenizer(str(model))
    # the plan needs only the engine's context length and vocabulary size
    engine = SimpleNamespace(max_model_len=8192, vocab=len(tokenizer.hf))
    state = make_state(ServerConfig(reasoning_effort="high"), engine, tokenizer, str(model))
    req = ChatCompletionRequest(model=str(model), messages=USER, reasoning_effort=request_effort)
    assert f"Reasoning: {expected}" in plan_request(to_pipeline(req), state).prompt.text


def test_an_unknown_effort_names_its_field():
    req = PipelineRequest(USER, template_kwargs={"reasoning_effort": "max"})
    state = SimpleNamespace(fmt=get_format("openai"), config=SimpleNamespace(reasoning_effort=None))
    with pytest.raises(APIError) as info:
        reasoning_effort(req, state)  # type: ignore[arg-type]
    assert info.value.param == "chat_template_kwargs.reasoning_effort"
