"""The chat API beyond tools: sampling controls, stop, logprobs, usage, structured outputs."""

from __future__ import annotations

import json
import re
import urllib.request

import jsonschema
import pytest
from transformers import AutoTokenizer

from tests.api.toolsets import TOOLS
from tests.conftest import Server

MSG = [{"role": "user", "content": "Tell me something."}]


VLLM_EXTRAS = ("ignore_eos", "include_stop_str_in_output", "top_k", "min_p")


def create(client, server, **kw):
    """A request through the official client; vLLM's extras travel in extra_body."""
    kw.setdefault("messages", MSG)
    kw.setdefault("max_tokens", 40)
    extra = dict(kw.pop("extra_body", None) or {})
    for key in VLLM_EXTRAS:
        if key in kw:
            extra[key] = kw.pop(key)
    return client.chat.completions.create(model=server.model, extra_body=extra or None, **kw)


def test_health_and_models(server, client):
    with urllib.request.urlopen(server.url + "/health") as r:
        assert json.loads(r.read()) == {"status": "ok"}
    (model,) = client.models.list().data
    assert model.id == server.model and model.object == "model"
    assert model.model_extra["tool_format"] == "hermes"
    assert model.model_extra["max_model_len"] == 8192


def test_plain_answer_shape_and_usage(server, client):
    r = create(client, server, seed=1)
    assert r.object == "chat.completion" and r.id.startswith("chatcmpl-")
    choice = r.choices[0]
    assert choice.message.role == "assistant" and choice.message.tool_calls is None
    assert choice.finish_reason in ("stop", "length")
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert 0 < r.usage.completion_tokens <= 40


def test_max_tokens_gives_length(server, client):
    r = create(client, server, max_tokens=7, seed=2, logit_bias=None)
    if r.choices[0].finish_reason == "length":
        assert r.usage.completion_tokens == 7
    r = create(client, server, max_completion_tokens=5, seed=3, ignore_eos=True)
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 5


def test_seed_makes_sampling_repeatable(server, client):
    a = create(client, server, seed=42).choices[0].message.content
    b = create(client, server, seed=42).choices[0].message.content
    c = create(client, server, seed=43).choices[0].message.content
    assert a == b and a != c


def test_stop_strings_end_content(server, client):
    for seed in range(6):
        r = create(client, server, seed=seed, stop=["e", "a"], max_tokens=60)
        content = r.choices[0].message.content or ""
        assert "e" not in content and "a" not in content
        if r.choices[0].finish_reason == "stop" and r.usage.completion_tokens < 60:
            continue
    r = create(client, server, seed=0, stop="e", include_stop_str_in_output=True, max_tokens=200)
    content = r.choices[0].message.content or ""
    if "e" in content:
        assert content.endswith("e") and content.count("e") == 1


def test_streamed_stop_matches_non_streamed(server, client):
    whole = create(client, server, seed=5, stop=["e"], max_tokens=80)
    text = ""
    for chunk in create(client, server, seed=5, stop=["e"], max_tokens=80, stream=True):
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
    assert text == (whole.choices[0].message.content or "")


def test_logprobs(server, client):
    r = create(
        client, server, seed=4, logprobs=True, top_logprobs=3, max_tokens=10, ignore_eos=True
    )
    items = r.choices[0].logprobs.content
    assert len(items) == r.usage.completion_tokens == 10
    for item in items:
        assert item.logprob <= 0 and len(item.top_logprobs) == 3
        assert item.top_logprobs[0].logprob >= item.top_logprobs[-1].logprob
        assert item.logprob <= item.top_logprobs[0].logprob + 1e-6
    assert "".join(bytes(i.bytes).decode("utf-8", "replace") for i in items)


def test_logit_bias_steers_and_frequency_penalty_counters_repetition(server, client, demo_model):
    tok = AutoTokenizer.from_pretrained(demo_model)
    word = tok.encode(" weather", add_special_tokens=False)[0]
    r = create(client, server, seed=1, logit_bias={str(word): 100}, max_tokens=6, ignore_eos=True)
    assert r.choices[0].message.content == tok.decode([word]) * 6

    def distinct(**kw):
        r = create(
            client, server, temperature=0, max_tokens=30, ignore_eos=True, logprobs=True, **kw
        )
        return len({i.token for i in r.choices[0].logprobs.content})

    assert distinct(frequency_penalty=2.0) > distinct()


def test_json_object_and_json_schema(server, client):
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string", "maxLength": 20}, "n": {"type": "integer"}},
        "required": ["answer", "n"],
    }
    for seed in range(4):
        r = create(
            client,
            server,
            seed=seed,
            max_tokens=200,
            response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
        )
        if r.choices[0].finish_reason == "stop":
            jsonschema.validate(json.loads(r.choices[0].message.content), schema)
        r = create(
            client, server, seed=seed, max_tokens=200, response_format={"type": "json_object"}
        )
        if r.choices[0].finish_reason == "stop":
            assert isinstance(json.loads(r.choices[0].message.content), dict)


def test_structured_outputs_extra(server, client):
    so = lambda **k: {"structured_outputs": k}  # noqa: E731
    r = create(client, server, seed=1, extra_body=so(choice=["yes", "no", "maybe"]))
    assert r.choices[0].message.content in ("yes", "no", "maybe")
    r = create(client, server, seed=1, extra_body=so(regex=r"[a-z]{3}-[0-9]{2}"))
    assert re.fullmatch(r"[a-z]{3}-[0-9]{2}", r.choices[0].message.content)
    r = create(
        client, server, seed=1, extra_body=so(grammar='start: "A" DIGITS\nDIGITS: /[0-9]{2,4}/')
    )
    assert re.fullmatch(r"A[0-9]{2,4}", r.choices[0].message.content)
    r = create(client, server, seed=1, extra_body=so(grammar='root ::= "x" [0-9] [0-9]'))  # GBNF
    assert re.fullmatch(r"x[0-9]{2}", r.choices[0].message.content)
    r = create(
        client,
        server,
        seed=1,
        max_tokens=100,
        extra_body=so(json={"type": "array", "items": {"type": "boolean"}, "maxItems": 3}),
    )
    if r.choices[0].finish_reason == "stop":
        value = json.loads(r.choices[0].message.content)
        assert isinstance(value, list) and all(isinstance(v, bool) for v in value)


def test_invalid_user_grammar_is_a_400(server, client):
    import openai

    with pytest.raises(openai.BadRequestError) as info:
        create(
            client, server, extra_body={"structured_outputs": {"grammar": "start: undefined_rule"}}
        )
    assert info.value.response.json()["error"]["param"] == "structured_outputs"


def test_structural_tag_keeps_tagged_parts_valid(server, client):
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string", "maxLength": 8}},
        "required": ["city"],
    }
    fmt = {
        "type": "structural_tag",
        "triggers": ["<f="],
        "structures": [{"begin": "<f=weather>", "schema": schema, "end": "</f>"}],
    }
    for seed in range(4):
        r = create(client, server, seed=seed, max_tokens=120, response_format=fmt)
        content = r.choices[0].message.content or ""
        if r.choices[0].finish_reason != "stop":
            continue
        for m in re.finditer(r"<f=", content):
            rest = content[m.end() :]
            assert rest.startswith("weather>")
            body, _, _ = rest[len("weather>") :].partition("</f>")
            jsonschema.validate(json.loads(body), schema)


def test_response_format_with_tools_gives_calls_or_json(server, client):
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    for seed in range(6):
        r = create(
            client,
            server,
            seed=seed,
            tools=TOOLS,
            max_tokens=200,
            response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
        )
        m = r.choices[0]
        if m.finish_reason == "length":
            continue
        if m.message.tool_calls:
            assert m.message.content is None
        else:
            jsonschema.validate(json.loads(m.message.content), schema)


def test_stream_usage_options(server, client):
    chunks = list(
        create(
            client,
            server,
            seed=9,
            stream=True,
            stream_options={"include_usage": True, "continuous_usage_stats": True},
        )
    )
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    assert all(c.usage is not None for c in chunks[1:])
    plain = list(create(client, server, seed=9, stream=True))
    assert all(c.usage is None for c in plain)
    assert plain[-1].choices[0].finish_reason in ("stop", "length")


def test_constrain_off_parses_without_the_grammar(demo_model) -> None:
    """--constrain off: the same model answers unconstrained; calls are only parsed. A random
    model then breaks what the grammar guarantees (a call under `required`, valid arguments)."""
    server = Server(demo_model, "--constrain", "off")
    try:
        client = server.client()
        model = client.models.list().data[0]
        assert model.model_extra["constrain"] == "off"
        answers = [
            client.chat.completions.create(
                model=model.id,
                messages=[{"role": "user", "content": "call a tool"}],
                tools=TOOLS,
                tool_choice="required",
                max_tokens=24,
                seed=seed,
            ).choices[0]
            for seed in range(6)
        ]
    finally:
        server.stop()
    # without the grammar, a random model almost never writes a call
    assert sum(1 for a in answers if not a.message.tool_calls) >= 5
    assert all(a.finish_reason in ("stop", "length") for a in answers)
