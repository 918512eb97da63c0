"""Kimi K3: tagged arguments whose opening names the value's JSON type, read back from what the
real template renders, and a grammar that writes the type of the schema's alternative it takes.

No vLLM or llama.cpp parser for Kimi K3 exists to take cases from: the cases are the
template's own renderings (tests/data/templates/Kimi-K3.jinja).
"""

from __future__ import annotations

import json

import pytest

from strictcall.chat.render import render_text
from strictcall.formats import ConstraintSpec, ToolSpec, get_format
from strictcall.formats.types import assemble
from tests.conftest import DATA
from tests.formats.chunks import feed_by_char

K3 = get_format("kimi_k3")
TEMPLATE = (DATA / "templates" / "Kimi-K3.jinja").read_text()
SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "days": {"type": "integer"},
        "ratio": {"type": "number"},
        "flag": {"type": "boolean"},
        "label": {"type": ["string", "null"]},
        "code": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        "data": {"anyOf": [{"type": "object"}, {"type": "null"}]},
        "items": {"type": "array", "items": {"type": "string"}},
        "anything": {},
    },
    "required": ["city"],
}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": SCHEMA}}]
OPEN, SEP, CLOSE = "<|open|>", "<|sep|>", "<|close|>"


def _rendered(calls: list[dict], content: str = "") -> str:
    """What the template writes for an assistant turn with `calls`, after its response opens."""
    message = {
        "role": "assistant",
        "content": content,
        "tool_calls": [
            {"id": f"c{i}", "type": "function", "function": {"name": "get_weather", "arguments": a}}
            for i, a in enumerate(calls)
        ],
    }
    user = {"role": "user", "content": "hi"}
    text = render_text(TEMPLATE, [user, message], TOOLS, {"thinking": False})
    opening = f'{OPEN}message role="assistant"{SEP}{OPEN}response{SEP}'
    start = text.index(opening) + len(opening)
    return text[start : text.index("<|end_of_msg|>", start)]


def _args(text: str, **options) -> list[dict]:
    return [json.loads(c.arguments) for c in K3.parse(text, TOOLS, **options).tool_calls]


NESTED = {
    "city": 'Saint-Étienne <b> & "quoted"',
    "days": 2,
    "ratio": -2.5e3,
    "flag": False,
    "label": None,
    "code": 7,
    "data": {"a": [1, {"b": None, "c": True}], "s": "x<|close|>y"},
    "items": ["x", "", "[not json]"],
    "anything": [True, None],
}


@pytest.mark.parametrize(
    "calls",
    [
        [NESTED],
        [{"city": "Paris", "days": 2}, {"city": "Lyon", "label": "north", "code": "A1"}],
        [{"city": "multi\nline  spaced ", "data": None, "flag": True}],
        [{"city": ""}],  # an empty string
        [{"city": "Paris", "code": "7"}],  # a string that looks like a number: type says string
    ],
)
def test_reads_what_the_template_renders(calls):
    text = _rendered(calls, content="Let me check.")
    result = K3.parse(text, TOOLS)
    assert [json.loads(c.arguments) for c in result.tool_calls] == calls
    assert result.content == "Let me check."
    assert not result.incomplete


def test_the_opening_names_each_type_as_the_template_does():
    text = _rendered([NESTED])
    for key, kind in [
        ("city", "string"),
        ("days", "number"),  # an integer is a number
        ("flag", "boolean"),
        ("label", "null"),
        ("data", "object"),
        ("items", "array"),
    ]:
        assert f'{OPEN}argument key="{key}" type="{kind}"{SEP}' in text
    assert K3.render_calls([("get_weather", NESTED)]) in f"{CLOSE}response{SEP}" + text


def test_reading_does_not_depend_on_chunking():
    text = "Sure." + _rendered([NESTED, {"city": "Lyon"}])
    whole = K3.parse(text, TOOLS)
    deltas, held = feed_by_char(K3.stream(TOOLS), text)
    by_char = assemble(deltas)
    assert held <= len(K3.syntax.trigger)  # at most a marker is held back
    assert [(c.name, c.arguments) for c in by_char.tool_calls] == [
        (c.name, c.arguments) for c in whole.tool_calls
    ]
    assert by_char.content == whole.content == "Sure."


def test_reasoning_then_response_then_calls():
    call = K3.render_calls([("get_weather", {"city": "Paris"})])
    text = f"hmm{CLOSE}think{SEP}{OPEN}response{SEP}Checking.{call}"
    result = K3.parse(text, TOOLS, in_reasoning=True)
    assert result.reasoning == "hmm"
    assert result.content == "Checking."
    assert [json.loads(c.arguments) for c in result.tool_calls] == [{"city": "Paris"}]


@pytest.mark.parametrize("split", [1, 5, 9, 17])
def test_a_plain_answer_loses_its_closing_tags(split):
    text = f"Hello there.{CLOSE}response{SEP}{CLOSE}message{SEP}"
    parser = K3.stream(TOOLS)
    deltas = parser.feed(text[:-split]) + parser.feed(text[-split:]) + parser.close()
    assert assemble(deltas).content == "Hello there."
    # the same tags inside the answer are text
    inner = f"a{CLOSE}response{SEP}{CLOSE}message{SEP}b"
    assert K3.parse(inner, TOOLS).content == inner


def test_ids_are_openai_ids_not_the_index():
    text = _rendered([{"city": "Paris"}, {"city": "Lyon"}])
    ids = [c.id for c in K3.parse(text, TOOLS).tool_calls]
    assert len(set(ids)) == 2 and all(i.startswith("call_") for i in ids)


def test_the_template_json_block_is_not_read():
    """The template writes arguments a client sent as a JSON string in a `json` block; the
    model is not led to write it (the grammar never does), so it is content, never a call."""
    text = (
        f'{CLOSE}response{SEP}{OPEN}tools{SEP}{OPEN}call tool="get_weather" index="1"{SEP}'
        f'{OPEN}json type="object"{SEP}{{"city": "Paris"}}{CLOSE}json{SEP}{CLOSE}call{SEP}'
        f"{CLOSE}tools{SEP}"
    )
    result = K3.parse(text, TOOLS)
    assert not result.tool_calls and result.content


def _one(key: str, kind: str, value: str) -> str:
    head = f'{CLOSE}response{SEP}{OPEN}tools{SEP}{OPEN}call tool="get_weather" index="1"{SEP}'
    city = f'{OPEN}argument key="city" type="string"{SEP}Paris{CLOSE}argument{SEP}'
    arg = f'{OPEN}argument key="{key}" type="{kind}"{SEP}{value}{CLOSE}argument{SEP}'
    tail = f"{CLOSE}call{SEP}{CLOSE}tools{SEP}{CLOSE}message{SEP}"
    return head + city + ("" if key == "city" else arg) + tail


SPEC = ConstraintSpec(tools=(ToolSpec("get_weather", SCHEMA),), mode="required")


@pytest.mark.parametrize(
    "key, kind, value, ok",
    [
        ("days", "number", "3", True),
        ("days", "number", "3.5", False),  # an integer
        ("days", "string", "3", False),  # the schema has no string
        ("code", "string", "3", True),  # the string alternative, written raw
        ("code", "number", "3", True),  # the integer one
        ("code", "number", '"3"', False),
        ("label", "null", "null", True),
        ("label", "string", "null", True),  # the string "null": the type says so
        ("label", "number", "1", False),
        ("flag", "boolean", "true", True),
        ("flag", "string", "true", False),
        ("data", "object", '{"a": [1, null]}', True),
        ("data", "array", "[1]", False),
        ("items", "array", '["x", "y"]', True),
        ("items", "array", "[1]", False),
        ("anything", "array", "[true, null]", True),
        ("anything", "string", "free <b> text", True),
        ("city", "string", "", True),
    ],
)
def test_grammar_writes_the_type_of_the_alternative_it_takes(accepts, key, kind, value, ok):
    grammar = K3.grammar(SPEC)
    text = _one(key, kind, value)
    assert accepts(grammar, text) == ok
    if ok:  # and what it writes reads back as that value
        (read,) = _args(text)
        expected = value if kind == "string" else json.loads(value)
        assert read[key] == expected if key != "city" else read == {"city": "Paris"}


def test_a_plain_answer_may_close_its_tags_and_calls_may_follow_text(accepts):
    auto = K3.grammar(ConstraintSpec(tools=SPEC.tools, mode="auto"))
    assert accepts(auto, f"Hi.{CLOSE}response{SEP}{CLOSE}message{SEP}")
    assert accepts(auto, "Hi.")
    assert accepts(auto, "Hi." + _one("days", "number", "2"))
    assert not accepts(auto, f"Hi.{CLOSE}response{SEP}")
    assert not accepts(K3.grammar(SPEC), f"Hi.{CLOSE}response{SEP}{CLOSE}message{SEP}")


def test_history_results_are_matched_to_calls_by_any_id():
    """The template finds a result's call by `tool_call_id` (any id, ours included) and writes
    the result under the call's name and number; the id itself is never in the prompt."""
    call_id = "call_Zq81bXW0e2h3C4kL5mN6oP7r"
    fn = {"name": "get_weather", "arguments": {"city": "Paris"}}
    messages = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": call_id, "function": fn}]},
        {"role": "tool", "tool_call_id": call_id, "content": "sunny 21C"},
    ]
    text = render_text(TEMPLATE, messages, TOOLS, {})
    assert f'{OPEN}message role="tool" tool="get_weather" index="1"{SEP}sunny 21C' in text
    assert call_id not in text
