"""The shared streaming parser, through the hermes declaration."""

from __future__ import annotations

import json
import random

import pytest

from strictcall.formats import get_format
from strictcall.formats.types import assemble
from tests.formats.chunks import feed_by_char, feed_in_pieces, random_pieces

HERMES = get_format("hermes")
TOOLS = [{"type": "function", "function": {"name": n}} for n in ("f", "get_weather", "g")]


def call(name: str, args: dict | str, sep: str = "\n") -> str:
    body = args if isinstance(args, str) else json.dumps(args)
    return f'<tool_call>{sep}{{"name": "{name}", "arguments": {body}}}{sep}</tool_call>'


def feed_all(text: str, pieces: list[int] | None = None, fmt=HERMES, **kw):
    return feed_in_pieces(fmt.stream(TOOLS, **kw), text, pieces)


SAMPLES = [
    "plain answer, no calls",
    call("f", {"x": 1}),
    "Let me check.\n" + call("get_weather", {"city": "Paris", "unit": "celsius"}),
    call("f", {"a": [1, {"b": '}"\\'}]}) + "\n" + call("g", {}),
    "<think>\nreasoning with <tool_call> inside\n</think>\n\n" + call("f", {"q": "<tool_call>"}),
    call("f", {"x": 1}) + " trailing words",
    "<tool_call>\n" + '{"arguments": {"z": null}, "name": "g"}' + "\n</tool_call>",
    '<tool_call>\n{"name": "f"}\n</tool_call>',  # no arguments: {}
    "almost a marker <tool_c and more",
    "ends with a partial marker <tool_ca",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_result_does_not_depend_on_chunking(text):
    whole = assemble(feed_all(text))
    rng = random.Random(7)
    for pieces in ([1] * len(text), *(random_pieces(text, rng) for _ in range(20))):
        got = assemble(feed_all(text, pieces))
        assert got.content == whole.content
        assert got.reasoning == whole.reasoning
        assert [(c.name, c.arguments) for c in got.tool_calls] == [
            (c.name, c.arguments) for c in whole.tool_calls
        ]


def test_calls_content_and_reasoning_are_separated():
    r = HERMES.parse(SAMPLES[4], TOOLS)
    assert r.reasoning == "reasoning with <tool_call> inside"
    assert r.content is None
    assert [(c.name, json.loads(c.arguments)) for c in r.tool_calls] == [
        ("f", {"q": "<tool_call>"})
    ]
    r = HERMES.parse(SAMPLES[2], TOOLS)
    assert r.content == "Let me check.\n"
    assert r.tool_calls[0].arguments == '{"city": "Paris", "unit": "celsius"}'


def test_missing_arguments_mean_an_empty_object():
    r = HERMES.parse(SAMPLES[7], TOOLS)
    assert [(c.name, c.arguments) for c in r.tool_calls] == [("f", "{}")]


def test_arguments_stream_before_the_call_is_complete():
    parser = HERMES.stream(TOOLS)
    text = call("f", {"long": "x" * 50})
    head = parser.feed(text[:60])
    assert head[0].name == "f" and head[0].id.startswith("call_")
    args = "".join(d.arguments or "" for d in head)
    assert args.startswith('{"long": "xxx')
    rest = parser.feed(text[60:]) + parser.close()
    assert args + "".join(d.arguments or "" for d in rest) == json.dumps({"long": "x" * 50})


@pytest.mark.parametrize(
    "text",
    [
        call("unknown_tool", {"x": 1}),  # not a declared tool
        '<tool_call>\n{"name": "f", "arguments": {"x": tru}}\n</tool_call>',  # invalid JSON
        '<tool_call>\n{"name": "f", "arguments": {"x": 1}',  # cut off
        '<tool_call>\n{"name": 5, "arguments": {}}\n</tool_call>',  # name not a string
        '<tool_call>\n{"name": "f", "arguments": [1]}\n</tool_call>',  # arguments not an object
        "<tool_call>\nnot json at all\n</tool_call>",
    ],
)
def test_bad_output_never_raises_and_becomes_content(text):
    for pieces in (None, [1] * len(text)):
        r = assemble(feed_all(text, pieces))
        assert r.tool_calls == []
        assert text.startswith(r.content.rstrip()) or r.content == text


def test_a_bad_call_does_not_take_good_ones_with_it():
    text = call("f", {"x": 1}) + "\n" + call("nope", {})
    r = HERMES.parse(text, TOOLS)
    assert [c.name for c in r.tool_calls] == ["f"]
    assert "nope" in r.content


@pytest.mark.parametrize("sep", ["\n", "", " \n "])
def test_a_missing_end_marker_does_not_hide_the_next_call(sep):
    """After a call, text that is not the expected marker is read again as content, so the
    start of the next call (which shares `<` with `</tool_call>`) still opens it."""
    text = '<tool_call>\n{"name": "f", "arguments": {}}' + sep + call("g", {"x": 1})
    for pieces in (None, [1] * len(text)):
        r = assemble(feed_all(text, pieces))
        assert [c.name for c in r.tool_calls] == ["f", "g"]
        assert (r.content or "").strip() == ""


@pytest.mark.parametrize("name", ["hermes", "llama3_json", "pythonic", "llama4_pythonic"])
@pytest.mark.parametrize("text", ["  ", " \n [ ", "  hi"])
def test_text_at_the_answers_start_is_content_whatever_the_syntax(name, text):
    """Formats whose calls open the answer look at its start before deciding; what they
    looked past is content all the same."""
    for pieces in (None, [1] * len(text)):
        r = assemble(feed_all(text, pieces, fmt=get_format(name)))
        assert (r.content, r.tool_calls) == (text, [])


def test_without_tools_any_name_is_accepted():
    r = HERMES.parse(call("anything", {"a": 1}))
    assert r.tool_calls[0].name == "anything"


def test_prompt_that_opened_reasoning():
    r = HERMES.parse("still thinking\n</think>\n\nanswer", TOOLS, in_reasoning=True)
    assert (r.reasoning, r.content) == ("still thinking", "answer")


def test_only_a_partial_marker_is_ever_held_back():
    """Feeding 64 KB one character at a time never accumulates text to re-scan: what the
    parser holds between feeds is at most a partial marker (the timing is in bench/)."""
    text = "intro " * 100 + call("f", {"blob": "y" * 65536}) + "\n" + call("g", {})
    out, held = feed_by_char(HERMES.stream(TOOLS), text)
    assert held < len("</tool_call>")
    assert [c.name for c in assemble(out).tool_calls] == ["f", "g"]
