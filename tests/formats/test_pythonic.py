"""Pythonic calls (pythonic, llama4_pythonic): reading Python literals, and the grammar built
from each tool's schema."""

from __future__ import annotations

import json
import random
import time

import llguidance
import llguidance.hf
import pytest
from transformers import AutoTokenizer

from strictcall.formats import ConstraintSpec, ToolSpec, get_format
from strictcall.formats.pyliteral import literal_json
from strictcall.formats.types import assemble
from strictcall.grammar.schema import SchemaError, normalize_parameters
from tests.formats.chunks import feed_by_char, feed_in_pieces, random_pieces

PYTHONIC = get_format("pythonic")
LLAMA4 = get_format("llama4_pythonic")


def calls(result) -> list[tuple[str, dict]]:
    return [(c.name, json.loads(c.arguments)) for c in result.tool_calls]


def parse_chunked(fmt, text: str, pieces: list[int], tools=None):
    return assemble(feed_in_pieces(fmt.stream(tools), text, pieces))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("'SF'", "SF"),
        ('"say \\"hi\\""', 'say "hi"'),
        ("'it\\'s'", "it's"),
        ('"caf\\u00e9 \\ud83d\\ude00"', "café 😀"),  # JSON escapes, surrogate pairs joined
        ("True", True),
        ("false", False),  # JSON spellings are read too
        ("None", None),
        ("-3", -3),
        ("2.5e3", 2500.0),
        ("[1, 'a', (2, 3)]", [1, "a", [2, 3]]),
        ("{'k': {'n': None}}", {"k": {"n": None}}),
    ],
)
def test_python_literals_become_json(text, value):
    assert json.loads(literal_json(text)) == value


@pytest.mark.parametrize("text", ["f(x)", "{1: 2}", "x", "1 + 2", "b'x'", "{**a}", "", "--1"])
def test_what_is_not_a_literal_is_refused(text):
    with pytest.raises(ValueError):
        literal_json(text)


def test_numbers_keep_their_json_spelling():
    assert literal_json("1e400") == "1e400"  # no float round trip to Infinity
    assert literal_json("0x10") == "16"


SAMPLES = [
    "[get_weather(city='SF', unit=\"celsius\"), get_time()]",
    "[f(a=[1, {'b': ')]'}], c=None) ,g(x = 'y',)]",
    "  [f(a=1)]",
    "plain answer with [brackets] inside",
    "[f(a=1)] trailing words",
    "[f(1)]",  # positional arguments: not a call
    "[f(a=1), g(b=undefined)]",
    "[f(a='unterminated)]",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_result_does_not_depend_on_chunking(text):
    whole = PYTHONIC.parse(text)
    rng = random.Random(3)
    for pieces in ([1] * len(text), *(random_pieces(text, rng) for _ in range(10))):
        got = parse_chunked(PYTHONIC, text, pieces)
        assert (got.content, calls(got)) == (whole.content, calls(whole))


def test_calls_and_arguments():
    r = PYTHONIC.parse(SAMPLES[1])
    assert calls(r) == [("f", {"a": [1, {"b": ")]"}], "c": None}), ("g", {"x": "y"})]
    assert r.content is None


def test_the_list_only_counts_at_the_start_of_the_answer():
    r = PYTHONIC.parse(SAMPLES[3])
    assert (r.content, r.tool_calls) == (SAMPLES[3], [])
    r = PYTHONIC.parse("Sure: [f(a=1)]")
    assert (r.content, r.tool_calls) == ("Sure: [f(a=1)]", [])


def test_bad_output_never_raises_and_becomes_content():
    for text in SAMPLES[5:]:
        r = PYTHONIC.parse(text)
        assert text.endswith((r.content or "").strip()) and r.content
    r = PYTHONIC.parse(SAMPLES[6])  # a good call before a bad one stays
    assert [c.name for c in r.tool_calls] == ["f"]


def test_unknown_tools_are_content():
    r = PYTHONIC.parse("[nope(a=1)]", [{"type": "function", "function": {"name": "f"}}])
    assert (r.content, r.tool_calls) == ("[nope(a=1)]", [])


def test_arguments_stream_one_argument_at_a_time():
    parser = PYTHONIC.stream()
    first = parser.feed("[f(a='xyz', b=")
    assert first[0].name == "f"
    assert "".join(d.arguments or "" for d in first) == '{"a": "xyz"'
    rest = parser.feed("[1, 2])]") + parser.close()
    assert "".join(d.arguments or "" for d in rest) == ', "b": [1, 2]}'


@pytest.mark.parametrize(
    "text",
    [
        "<|python_start|>[f(a=1)]<|python_end|>",
        "<|python_start|>[f(a=1)]",  # end marker left out
        "[f(a=1)]",  # start marker left out
        "\n<|python_start|>[f(a=1)]<|python_end|>\n",
    ],
)
def test_llama4_markers_are_optional_when_reading(text):
    for pieces in ([len(text)], [1] * len(text)):
        r = parse_chunked(LLAMA4, text, pieces)
        assert calls(r) == [("f", {"a": 1})]
        assert not (r.content or "").strip()


def test_only_a_partial_marker_is_ever_held_back():
    text = "[f(blob='" + "y" * 20000 + "'), g(n=1)]"
    out, held = feed_by_char(PYTHONIC.stream(), text)
    assert held <= 1
    assert [c.name for c in assemble(out).tool_calls] == ["f", "g"]


# ---- the grammar ----------------------------------------------------------------------------
SCHEMA = {
    "type": "object",
    "$defs": {"code": {"type": "string", "pattern": "^[A-Z]{2}$"}},
    "properties": {
        "name": {"type": "string", "maxLength": 5},
        "n": {"type": "integer", "minimum": 1, "maximum": 9},
        "mode": {"enum": ["a", "b", None]},
        "tags": {"type": "array", "items": {"$ref": "#/$defs/code"}, "maxItems": 2},
        "opt": {"type": ["boolean", "null"]},
        "nested": {
            "type": "object",
            "properties": {"x": {"type": "number"}, "y": {"const": "k"}},
            "required": ["y"],
        },
    },
    "required": ["name", "n"],
}


@pytest.fixture(scope="module")
def accepts(demo_model):
    tok = llguidance.hf.from_tokenizer(AutoTokenizer.from_pretrained(demo_model))

    def check(fmt, schema, text, mode="required"):
        spec = ConstraintSpec(tools=(ToolSpec("f", normalize_parameters(schema)),), mode=mode)
        grammar = llguidance.LLMatcher.grammar_from_lark(fmt.grammar(spec))
        matcher = llguidance.LLMatcher(tok, grammar, log_level=0)
        return matcher.consume_tokens(tok.greedy_tokenize(text)) and matcher.is_accepting()

    return check


@pytest.mark.parametrize(
    "args",
    [
        'name="ab", n=3',
        'name="ab", n=3, mode=None, tags=["AB", "CD"], opt=True',
        'name="", n=9, opt=None, nested={"x": 1.5, "y": "k"}',
        'name="ab", n=1, mode="b", nested={"y": "k"}',
    ],
)
def test_grammar_accepts_valid_keyword_arguments(accepts, args):
    assert accepts(PYTHONIC, SCHEMA, f"[f({args})]")


@pytest.mark.parametrize(
    "args",
    [
        "n=3",  # a required argument missing
        'name="ab", n=10',  # above the maximum
        'name="toolong", n=3',  # longer than maxLength
        'n=3, name="ab"',  # the schema's order
        'name="ab", n=3, extra=1',  # an unknown argument
        'name="ab", n=3, mode="c"',  # not in the enum
        'name="ab", n=3, tags=["ABC"]',  # pattern
        'name="ab", n=3, tags=["AB", "CD", "EF"]',  # maxItems
        'name="ab", n=3, opt=true',  # JSON spelling: the grammar writes Python
        'name="ab", n=3, nested={"x": 1}',  # nested required key missing
        "name='ab', n=3",  # strings are written with double quotes
    ],
)
def test_grammar_refuses_invalid_keyword_arguments(accepts, args):
    assert not accepts(PYTHONIC, SCHEMA, f"[f({args})]")


def test_grammar_for_llama4_writes_both_markers(accepts):
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    assert accepts(LLAMA4, schema, "<|python_start|>[f(a=1)]<|python_end|>")
    assert not accepts(LLAMA4, schema, "[f(a=1)]")
    assert accepts(LLAMA4, schema, "no call [here]", mode="auto")
    assert not accepts(LLAMA4, schema, "[f(a=1)]", mode="none")


def test_alternatives_of_different_types_are_each_written_as_their_type(accepts):
    """anyOf, oneOf (over different types), type lists and enums: each value in its own
    Python spelling, and only those the schema admits."""
    schema = {
        "type": "object",
        "properties": {
            "port": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "host": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "pick": {"enum": ["a", 7]},
        },
    }
    for args in ("port=8080", 'port="8080"', "host=None", 'host="8080"', "pick=7", 'pick="a"'):
        assert accepts(PYTHONIC, schema, f"[f({args})]"), args
    for args in ("host=8080", "pick=8", 'pick="7"', "port=True"):
        assert not accepts(PYTHONIC, schema, f"[f({args})]"), args
    tools = [{"type": "function", "function": {"name": "f", "parameters": schema}}]
    read = PYTHONIC.parse('[f(port=8080, host="8080")]', tools).tool_calls[0].arguments
    assert json.loads(read) == {"port": 8080, "host": "8080"}


def test_open_objects_take_other_arguments_but_not_declared_ones_twice(accepts):
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    schema["additionalProperties"] = True
    assert accepts(PYTHONIC, schema, '[f(a=1, b="x", c=[True, None, {"k": 2}])]')
    assert not accepts(PYTHONIC, schema, "[f(a=1, a=2)]")


@pytest.mark.parametrize(
    ("schema", "keyword"),
    [
        ({"properties": {"a": {"type": "array", "uniqueItems": True}}}, "uniqueItems"),
        ({"properties": {"a": {"type": "object", "minProperties": 1}}}, "minProperties"),
        ({"properties": {"a": {"type": "array", "prefixItems": [{}]}}}, "prefixItems"),
        ({"properties": {"a": {"allOf": [{"type": "string"}, {"maxLength": 3}]}}}, "allOf"),
        ({"properties": {"a-b c": {"type": "string"}}}, "properties"),
        ({"properties": {"a": {"$ref": "https://example.com/x"}}}, "$ref"),
        ({"anyOf": [{"properties": {"a": {}}}]}, "anyOf"),
        ({"properties": {"a": {"oneOf": [{"type": "integer"}, {"type": "number"}]}}}, "oneOf"),
    ],
)
def test_what_cannot_be_enforced_is_refused_by_name(schema, keyword):
    spec = ConstraintSpec(tools=(ToolSpec("f", {"type": "object", **schema}),), mode="required")
    with pytest.raises(SchemaError) as err:
        PYTHONIC.grammar(spec)
    assert err.value.keyword == keyword
    assert "f" in err.value.path


def test_a_long_literal_is_read_in_linear_time():
    """Reading a value looks at each character a bounded number of times (a quadratic
    reading of this list takes minutes)."""
    text = "[f(a=[" + "1, 'x', " * 20000 + "None])]"
    start = time.perf_counter()
    r = PYTHONIC.parse(text)
    assert time.perf_counter() - start < 5
    assert len(json.loads(r.tool_calls[0].arguments)["a"]) == 40001


@pytest.mark.parametrize(
    "literal",
    [
        "'plain'",
        '"say \\"hi\\" \\\\ \\/ \\u00e9 \\ud83d\\ude00"',  # JSON escapes in double quotes
        "'it\\'s \\x41\\101\\0 \\N{BULLET} \\t'",  # Python's escapes
        "''",
        '""',
        "'''triple'''",  # read whole
        "'\\7x'",
    ],
)
def test_string_arguments_stream_with_the_value_literal_json_gives(literal):
    text = f"[f(a={literal}, b=1)]"
    want = {"a": json.loads(literal_json(literal)), "b": 1}
    for pieces in ([len(text)], [1] * len(text), random_pieces(text, random.Random(3))):
        r = parse_chunked(PYTHONIC, text, pieces)
        assert calls(r) == [("f", want)], pieces


def test_a_string_argument_is_sent_before_the_call_closes():
    parser = PYTHONIC.stream()
    out = parser.feed("[f(a='abc") + parser.feed("def")
    assert "".join(d.arguments or "" for d in out) == '{"a": "abcdef'
    rest = parser.feed("', b=2)]") + parser.close()
    assert "".join(d.arguments or "" for d in rest) == '", "b": 2}'


@pytest.mark.parametrize("text", ["[f(a='x' 'y')]", "[f(a='x'.upper())]", "[f(a='x\ny')]"])
def test_what_follows_a_streamed_string_must_end_the_value(text):
    r = PYTHONIC.parse(text)
    assert not r.tool_calls and r.content == text
