"""muse-glimmer (ATEM): messages to a recipient after `<|start|>assistant`, calls as XML
parameters, read back from what the real template renders, and a grammar that writes them.

No vLLM or llama.cpp parser for it exists to take cases from: the cases are the template's own
renderings (tests/data/templates/muse-glimmer.jinja).
"""

from __future__ import annotations

import json

import pytest

from strictcall.chat.render import render_text
from strictcall.formats import ConstraintSpec, ToolSpec, get_format
from strictcall.formats.types import assemble
from tests.conftest import DATA
from tests.formats.chunks import feed_by_char

MUSE = get_format("muse_glimmer")
TEMPLATE = (DATA / "templates" / "muse-glimmer.jinja").read_text()
SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "days": {"type": "integer"},
        "ratio": {"type": "number"},
        "flag": {"type": "boolean"},
        "label": {"type": ["string", "null"]},
        "data": {"anyOf": [{"type": "object"}, {"type": "null"}]},
        "items": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["city"],
}
TOOLS = [
    {"type": "function", "function": {"name": n, "description": "", "parameters": SCHEMA}}
    for n in ("get_weather", "geo.lookup")
]
PROMPT_END = "<|start|>assistant"


def _rendered(calls: list[tuple[str, dict]], reasoning: str | None = None) -> str:
    """What the template writes for an assistant turn with `calls` (its results follow)."""
    message: dict = {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": f"c{i}", "type": "function", "function": {"name": n, "arguments": a}}
            for i, (n, a) in enumerate(calls)
        ],
    }
    if reasoning:
        message["reasoning_content"] = reasoning
    results = [
        {"role": "tool", "tool_call_id": f"c{i}", "content": "ok"} for i in range(len(calls))
    ]
    messages = [{"role": "user", "content": "hi"}, message, *results]
    text = render_text(TEMPLATE, messages, TOOLS, {"bos_token": ""})
    start = text.index("<|start|>user<|message|>hi<|eot|>") + len(
        "<|start|>user<|message|>hi<|eot|>"
    )
    assert text.startswith(PROMPT_END, start)
    return text[start + len(PROMPT_END) : text.index("<|start|>tool", start)]


NESTED = {
    "city": 'Saint-Étienne <b> & "quoted"\nline two',
    "days": 2,
    "ratio": -2.5,
    "flag": False,
    "label": None,
    "data": {"a": [1, {"b": None, "c": True}], "s": "x</atem:parameter>y"},
    "items": ["x", "", "[not json]"],
}


@pytest.mark.parametrize(
    "calls",
    [
        [("get_weather", NESTED)],
        [("get_weather", {"city": "Paris", "days": 2}), ("geo.lookup", {"city": "Lyon"})],
        [("get_weather", {"city": "", "flag": True, "data": None})],
        [("get_weather", {"city": "8080", "label": "north"})],  # a string parameter: raw
    ],
)
def test_reads_what_the_template_renders(calls):
    text = _rendered(calls)
    assert text.endswith("</atem:function_calls><|eot|>")
    result = MUSE.parse(text.removesuffix("<|eot|>"), TOOLS)
    assert [(c.name, json.loads(c.arguments)) for c in result.tool_calls] == calls
    assert not result.content and not result.incomplete


def test_reasoning_goes_to_self_before_the_calls():
    text = _rendered([("get_weather", {"city": "Paris"})], reasoning="Let me think.")
    assert text.startswith(" to=self<|message|>Let me think.<|eom|><|start|>assistant to=get")
    result = MUSE.parse(text.removesuffix("<|eot|>"), TOOLS)
    assert result.reasoning == "Let me think."
    assert [c.name for c in result.tool_calls] == ["get_weather"]


def test_a_plain_answer_to_the_user_loses_its_header():
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello."}]
    text = render_text(TEMPLATE, messages, TOOLS, {"bos_token": ""})
    assert "<|start|>assistant to=user<|message|>Hello.<|eot|>" in text
    assert MUSE.parse(" to=user<|message|>Hello.", TOOLS).content == "Hello."
    thought = " to=self<|message|>hmm<|eom|><|start|>assistant to=user<|message|>Hi"
    result = MUSE.parse(thought, TOOLS)
    assert (result.reasoning, result.content) == ("hmm", "Hi")
    assert MUSE.parse("Hello.", TOOLS).content == "Hello."  # without the header too


def test_reading_does_not_depend_on_chunking():
    text = _rendered([("get_weather", NESTED), ("geo.lookup", {"city": "Lyon"})], "hmm")
    whole = MUSE.parse(text, TOOLS)
    deltas, held = feed_by_char(MUSE.stream(TOOLS), text)
    by_char = assemble(deltas)
    assert held < 64  # at most a marker is held back
    got = [(c.name, c.arguments) for c in by_char.tool_calls]
    assert got == [(c.name, c.arguments) for c in whole.tool_calls] and len(got) == 2
    assert by_char.reasoning == whole.reasoning == "hmm"


@pytest.mark.parametrize(
    "text",
    [
        # the invoke names another tool than the header
        ' to=get_weather<|message|><atem:function_calls>\n<atem:invoke name="geo.lookup">\n'
        '<atem:parameter name="city">Paris</atem:parameter>\n</atem:invoke>\n'
        "</atem:function_calls>",
        # a recipient that is not a tool
        ' to=browser<|message|><atem:function_calls>\n<atem:invoke name="browser">\n'
        "</atem:invoke>\n</atem:function_calls>",
        # cut off inside the call
        ' to=get_weather<|message|><atem:function_calls>\n<atem:invoke name="get_weather">\n'
        '<atem:parameter name="city">Par',
    ],
)
def test_what_is_not_a_call_is_content(text):
    result = MUSE.parse(text, TOOLS)
    assert not result.tool_calls and result.content == text


SPECS = tuple(ToolSpec(t["function"]["name"], SCHEMA) for t in TOOLS)


def test_grammar_writes_what_the_template_renders(accepts):
    calls = [("get_weather", NESTED), ("geo.lookup", {"city": "Lyon"})]
    text = _rendered(calls, reasoning="hmm").removesuffix("<|eot|>")
    for mode in ("auto", "required"):
        grammar = MUSE.grammar(ConstraintSpec(tools=SPECS, mode=mode, reasoning=True))
        assert accepts(grammar, text)
        assert not accepts(grammar, text.replace('"days">2<', '"days">2.5<'))  # an integer
    none = MUSE.grammar(ConstraintSpec(tools=SPECS, mode="none", reasoning=True))
    assert not accepts(none, text)
    assert accepts(none, " to=self<|message|>hmm<|eom|><|start|>assistant to=user<|message|>Hi")
    assert not accepts(none, " to=self<|message|>hmm<|eom|><|start|>assistant Hi")


def test_grammar_answers_the_user_or_calls_never_both(accepts):
    auto = MUSE.grammar(ConstraintSpec(tools=SPECS, mode="auto"))
    one = MUSE.render_calls([("get_weather", {"city": "Paris"})])
    assert accepts(auto, " to=user<|message|>Hello.") and accepts(auto, one)
    assert not accepts(auto, " to=user<|message|>Hello." + one)
    assert not accepts(auto, "Hello.")  # the header is written
    required = MUSE.grammar(ConstraintSpec(tools=SPECS, mode="required"))
    assert not accepts(required, " to=user<|message|>Hello.") and accepts(required, one)
