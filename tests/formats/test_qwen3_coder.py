"""Qwen3-Coder XML parameters: values typed by the schema, read in one pass, and a grammar that
writes only what the parser reads back as a valid call."""

from __future__ import annotations

import json
import random

import llguidance
import llguidance.hf
import pytest
from transformers import AutoTokenizer

from strictcall.formats import ConstraintSpec, ToolSpec, get_format
from strictcall.formats.types import assemble
from strictcall.grammar.schema import SchemaError, normalize_parameters
from tests.formats.chunks import feed_by_char, feed_in_pieces, random_pieces

QWEN = get_format("qwen3_coder")
SCHEMA = {
    "type": "object",
    "$defs": {"code": {"type": "string", "pattern": "^[A-Z]{3}$"}},
    "properties": {
        "path": {"type": "string"},
        "code": {"$ref": "#/$defs/code"},
        "count": {"type": "integer", "minimum": 0, "maximum": 99},
        "ratio": {"type": "number"},
        "flag": {"type": "boolean"},
        "label": {"type": ["string", "null"], "maxLength": 8},
        "data": {"anyOf": [{"type": "object"}, {"type": "null"}]},
        "items": {"type": "array", "items": {"type": "string"}},
        "anything": {},
    },
    "required": ["path"],
}
TOOLS = [{"type": "function", "function": {"name": "write", "parameters": SCHEMA}}]


def call(*params: tuple[str, str], name: str = "write") -> str:
    body = "".join(f"<parameter={k}>\n{v}\n</parameter>\n" for k, v in params)
    return f"<tool_call>\n<function={name}>\n{body}</function>\n</tool_call>"


def args(text: str, tools=TOOLS) -> list[dict]:
    return [json.loads(c.arguments) for c in QWEN.parse(text, tools).tool_calls]


def test_values_are_typed_by_the_schema():
    text = call(
        ("path", "/a b/c.py"),
        ("code", "ABC"),
        ("count", "42"),
        ("ratio", "2.5"),
        ("flag", "True"),  # Python spelling, as the chat template writes history
        ("label", "null"),
        ("data", "{'k': [1, None]}"),  # a Python literal is read too
        ("items", '["x", "</parameter>"]'),  # a marker inside a JSON string is no end
        ("anything", "42"),
    )
    assert args(text) == [
        {
            "path": "/a b/c.py",
            "code": "ABC",
            "count": 42,
            "ratio": 2.5,
            "flag": True,
            "label": None,
            "data": {"k": [1, None]},
            "items": ["x", "</parameter>"],
            "anything": 42,
        }
    ]


def test_strings_are_raw_text_exactly():
    code = 'if a < b:\n    print("</p> <param")\n\n'
    assert args(call(("path", code), ("label", "42 apples"))) == [
        {"path": code, "label": "42 apples"}
    ]


def test_without_a_schema_every_value_is_a_string():
    assert args(call(("count", "42"), ("flag", "true")), tools=None) == [
        {"count": "42", "flag": "true"}
    ]


def test_a_value_that_is_not_its_type_comes_back_as_a_string():
    assert args(call(("path", "p"), ("count", "many"))) == [{"path": "p", "count": "many"}]


def test_missing_closing_tags_end_at_the_next_part():
    text = "<tool_call>\n<function=write>\n<parameter=path>\na\n<parameter=count>\n3\n</function>"
    assert args(text) == [{"path": "a", "count": 3}]


def test_calls_without_their_wrapper_are_all_read():
    one = "<function=write>\n<parameter=path>\na\n</parameter>\n</function>"
    two = "<function=write>\n<parameter=path>\nb\n</parameter>\n</function>"
    assert args(one + "\n" + two) == [{"path": "a"}, {"path": "b"}]
    assert args(one + "\n" + call(("path", "b"))) == [{"path": "a"}, {"path": "b"}]


SAMPLES = [
    call(("path", "x\ny\n"), ("count", "7")) + "\n" + call(("path", "<tool_call>")),
    "Let me write.\n\n" + call(("path", "a"), ("items", '["<", "\\"</parameter>"]')) + "\nDone.",
    "<function=write>\n<parameter=path>\np\n</parameter>\n</function>",  # no <tool_call>
    call(("path", "a"), name="unknown"),
    "<tool_call>\n<function=write>\nprose instead of parameters\n</function>\n</tool_call>",
    call(("path", "p" * 300)) + "<tool_call>\n<function=write>\n<parameter=path>\ncut",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_result_does_not_depend_on_chunking(text):
    whole = QWEN.parse(text, TOOLS)
    rng = random.Random(11)
    for pieces in ([1] * len(text), *(random_pieces(text, rng) for _ in range(10))):
        got = assemble(feed_in_pieces(QWEN.stream(TOOLS), text, pieces))
        assert got.content == whole.content
        assert [(c.name, c.arguments) for c in got.tool_calls] == [
            (c.name, c.arguments) for c in whole.tool_calls
        ]


def test_surrounding_text_and_bad_calls_are_content():
    r = QWEN.parse(SAMPLES[1], TOOLS)
    assert r.content == "Let me write.\n\n\nDone."
    for text in SAMPLES[3:5]:
        r = QWEN.parse(text, TOOLS)
        assert (r.content, r.tool_calls) == (text, [])


def test_string_values_stream_as_they_come():
    parser = QWEN.stream(TOOLS)
    head = parser.feed("<tool_call>\n<function=write>\n<parameter=path>\nline one\nline")
    assert "".join(d.arguments or "" for d in head) == '{"path": "line one\\nline'
    tail = parser.feed(" two\n</parameter>\n</function>\n</tool_call>") + parser.close()
    assert "".join(d.arguments or "" for d in tail) == ' two"}'


def test_only_a_partial_marker_is_ever_held_back():
    text = call(("path", "y" * 30000), ("items", json.dumps(["z" * 30000])))
    out, held = feed_by_char(QWEN.stream(TOOLS), text)
    assert held < len("</parameter>")
    assert args(text) == [json.loads(c.arguments) for c in assemble(out).tool_calls]


# ---- the grammar ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def accepts(demo_model):
    tok = llguidance.hf.from_tokenizer(AutoTokenizer.from_pretrained(demo_model))
    spec = ConstraintSpec(tools=(ToolSpec("write", normalize_parameters(SCHEMA)),), mode="required")
    grammar = llguidance.LLMatcher.grammar_from_lark(QWEN.grammar(spec))

    def check(text):
        matcher = llguidance.LLMatcher(tok, grammar, log_level=0)
        return matcher.consume_tokens(tok.greedy_tokenize(text)) and matcher.is_accepting()

    check.model = demo_model
    return check


@pytest.mark.parametrize(
    "params",
    [
        [("path", "p")],
        [("path", "multi\nline <b> text\n")],
        [("path", ""), ("code", "ABC"), ("count", "0"), ("ratio", "-1.5"), ("flag", "false")],
        [("path", "p"), ("label", "null"), ("data", '{"k": 1}'), ("items", '["a"]')],
        [("path", "p"), ("label", "eight ch")],
        [("path", "p"), ("anything", "text"), ("anything", "[1, true]")][:2],
    ],
)
def test_grammar_accepts_valid_calls(accepts, params):
    assert accepts(call(*params))


@pytest.mark.parametrize(
    "params",
    [
        [("count", "1")],  # the required parameter missing
        [("path", "p"), ("other", "x")],  # an unknown parameter
        [("path", "a</parameter>b")],  # a raw value never holds a marker
        [("path", "p"), ("code", "ABCD")],  # pattern
        [("path", "p"), ("count", "100")],  # maximum
        [("path", "p"), ("count", "seven")],
        [("path", "p"), ("flag", "True")],  # the grammar writes JSON
        [("path", "p"), ("label", "nine chars")],  # maxLength
        [("path", "p"), ("label", "None")],  # a string that would read back as null
        [("code", "ABC"), ("path", "p")],  # the schema's order
    ],
)
def test_grammar_refuses_invalid_calls(accepts, params):
    assert not accepts(call(*params))


@pytest.mark.parametrize(
    "value", ["7", " -2.5e3", "TRUE", "none", "[x", "{", "false\n", "7 up", "nul", "x42", "true"]
)
def test_a_raw_string_the_grammar_writes_reads_back_as_written(accepts, value):
    """Where a parameter is a string or something else, a raw string that would read back as
    the something else is exactly what the grammar does not write."""
    text = call(("path", "p"), ("label", value))
    read = args(text)[0]["label"]
    if accepts(text):
        assert read == value
    else:
        assert read != value or value[:1] in "[{"  # (those the parser could take as raw)
    if value in ("7 up", "nul", "x42"):
        assert accepts(text)


def test_typed_values_next_to_raw_strings(accepts):
    schema = {
        "type": "object",
        "properties": {"v": {"type": ["string", "integer", "boolean", "array"], "maxLength": 3}},
    }
    spec = ConstraintSpec(tools=(ToolSpec("w", normalize_parameters(schema)),), mode="required")
    tok = llguidance.hf.from_tokenizer(AutoTokenizer.from_pretrained(accepts.model))
    grammar = llguidance.LLMatcher.grammar_from_lark(QWEN.grammar(spec))
    tools = [{"type": "function", "function": {"name": "w", "parameters": schema}}]
    for value, read in [("abc", "abc"), ("12", 12), ("true", True), ('[1, "a"]', [1, "a"])]:
        text = call(("v", value), name="w")
        matcher = llguidance.LLMatcher(tok, grammar, log_level=0)
        assert matcher.consume_tokens(tok.greedy_tokenize(text)) and matcher.is_accepting()
        assert args(text, tools) == [{"v": read}]


@pytest.mark.parametrize(
    ("schema", "keyword"),
    [
        ({"properties": {"a": {"type": "string", "format": "email"}}}, "format"),
        ({"properties": {"a": {"type": "string", "pattern": "^a|b$"}}}, "pattern"),
        ({"properties": {"a": {"oneOf": [{"type": "string"}, {"maxLength": 2}]}}}, "oneOf"),
        ({"properties": {"a": {"oneOf": [{"type": "integer"}, {"type": "number"}]}}}, "oneOf"),
        ({"properties": {"a b": {"type": "string"}}}, "properties"),
        ({"properties": {}, "minProperties": 1}, "minProperties"),
    ],
)
def test_what_cannot_be_enforced_is_refused_by_name(schema, keyword):
    spec = ConstraintSpec(tools=(ToolSpec("f", {"type": "object", **schema}),), mode="required")
    with pytest.raises(SchemaError) as err:
        QWEN.grammar(spec)
    assert err.value.keyword == keyword


@pytest.mark.parametrize(
    ("prop", "keyword"),
    [
        ({"const": "</function>"}, "const"),  # a raw value cannot hold the format's markers
        ({"enum": ["a</parameter>b"]}, "const"),
        ({"enum": ["<parameter=x>", "</function>"]}, "enum"),
        ({"type": "string", "pattern": "^</function>$"}, "pattern"),
        ({"type": "array", "minItems": 2, "maxItems": 1}, "maxItems"),  # impossible alone
    ],
)
def test_values_the_syntax_cannot_write_are_refused_by_keyword(prop, keyword):
    from strictcall.grammar.schema import SchemaError, normalize_parameters

    schema = normalize_parameters({"type": "object", "properties": {"v": prop}})
    spec = ConstraintSpec(tools=(ToolSpec("t", schema),), mode="required")
    with pytest.raises(SchemaError) as info:
        get_format("qwen3_coder").grammar(spec)
    assert info.value.keyword == keyword
    assert "properties/v" in info.value.path


ALTERNATIVES = {
    "type": "object",
    "properties": {
        "port": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "host": {"type": ["string", "null"]},
        "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "pick": {"enum": ["a", 7]},
        "ratio": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    },
}
ALT_TOOLS = [{"type": "function", "function": {"name": "w", "parameters": ALTERNATIVES}}]


@pytest.mark.parametrize(
    ("key", "text", "read"),
    [
        ("port", "8080", "8080"),  # no number in the schema: the text is the string
        ("port", "null", None),
        ("port", "[1]", "[1]"),
        ("host", "true", "true"),
        ("host", "null", None),
        ("either", "8080", 8080),
        ("either", "abc", "abc"),
        ("pick", "7", 7),
        ("pick", "a", "a"),
        ("ratio", "2.5", "2.5"),  # an integer is admitted, 2.5 is not one
        ("ratio", "3", 3),
    ],
)
def test_values_are_typed_by_the_schemas_own_alternatives(accepts, key, text, read):
    """A value is another type than string only where the schema admits that type."""
    spec = ConstraintSpec(
        tools=(ToolSpec("w", normalize_parameters(ALTERNATIVES)),), mode="required"
    )
    tok = llguidance.hf.from_tokenizer(AutoTokenizer.from_pretrained(accepts.model))
    grammar = llguidance.LLMatcher.grammar_from_lark(QWEN.grammar(spec))
    written = call((key, text), name="w")
    assert args(written, ALT_TOOLS) == [{key: read}]
    matcher = llguidance.LLMatcher(tok, grammar, log_level=0)
    # the grammar writes exactly this text for this value
    assert matcher.consume_tokens(tok.greedy_tokenize(written)) and matcher.is_accepting()
