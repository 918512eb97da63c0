"""The plain-schema fast path only skips checks that could not fail; verdicts never change."""

from __future__ import annotations

import json

import jsonschema
import llguidance
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import bfcl
from strictcall.grammar import schema as schema_mod
from strictcall.grammar.plain import FORMATS, is_plain
from strictcall.grammar.schema import (
    SchemaError,
    check_compiles,
    check_schema,
    check_tool_parameters,
    normalize_parameters,
    styled,
)
from tests.reliability.schemas import tool_schemas

_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

# Plain keywords with values of the right shape and of wrong ones, so the generator reaches
# both sides of every rule in grammar/plain.py.
_names = st.sampled_from(["a", "b", "c", "name", "x y", "</tool_call>"])
_types = st.one_of(
    st.sampled_from(["string", "number", "integer", "boolean", "object", "array", "null"]),
    st.sampled_from(["dict", "float", "any"]),
    st.lists(st.sampled_from(["string", "null", "integer", "object"]), min_size=0, max_size=3),
)
_enum_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**60), 2**60),
    st.text(max_size=4),
    st.floats(-10, 10, allow_nan=False),
)


def _node(children: st.SearchStrategy) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {},
        optional={
            "type": _types,
            "description": st.one_of(st.text(max_size=6), st.integers()),
            "title": st.text(max_size=4),
            "default": _enum_values,
            "examples": st.one_of(st.lists(_enum_values, max_size=2), st.just("x")),
            "properties": st.dictionaries(_names, children, max_size=3),
            "required": st.lists(_names, max_size=3),
            "additionalProperties": st.one_of(st.booleans(), children),
            "items": st.one_of(children, st.just(True), st.lists(children, max_size=1)),
            "enum": st.lists(_enum_values, max_size=3),
            "format": st.sampled_from([*sorted(FORMATS), "no-such-format", "uri-reference"]),
            "minLength": st.integers(-1, 3),
        },
    )


plain_like = st.recursive(_node(st.just({})), _node, max_leaves=8)


@st.composite
def _plain_node(draw: st.DrawFn, depth: int = 0) -> dict:
    """A schema built to be plain (mostly: the last draw may break one rule)."""
    kind = draw(st.sampled_from(["string", "number", "integer", "boolean", "object", "array"]))
    node: dict = {"type": kind if draw(st.booleans()) else [kind, "null"]}
    if draw(st.booleans()):
        node["description"] = draw(st.text(max_size=6))
    if kind == "string" and draw(st.booleans()):
        node["format" if draw(st.booleans()) else "enum"] = draw(
            st.sampled_from(sorted(FORMATS)) if "enum" not in node else st.just("x")
        )
    if kind == "string" and "format" not in node and draw(st.booleans()):
        node["enum"] = draw(st.lists(st.text(max_size=4), min_size=1, max_size=3))
    if kind == "integer" and draw(st.booleans()):
        node["enum"] = draw(st.lists(st.integers(-(2**53), 2**53), min_size=1, max_size=3))
    if kind == "object" and depth < 3:
        props = draw(st.dictionaries(_names, _plain_node(depth + 1), max_size=3))
        node["properties"] = props
        node["required"] = (
            draw(st.lists(st.sampled_from(sorted(props)), unique=True)) if props else []
        )
        if draw(st.booleans()):
            node["additionalProperties"] = draw(st.booleans())
    if kind == "array" and depth < 3 and draw(st.booleans()):
        node["items"] = draw(_plain_node(depth + 1))
    if draw(st.integers(0, 9)) == 0:  # now and then, break one rule
        node[draw(st.sampled_from(["type", "required", "enum", "format"]))] = draw(
            st.sampled_from(["dict", ["zz"], [], "uri-reference", 0.5])
        )
    return node


def _full_verdict(schema: dict) -> tuple[str, str, str] | None:
    """check_schema's verdict with the fast path turned off."""
    schema_mod.clear_caches()
    original = schema_mod.is_plain
    schema_mod.is_plain = lambda _schema: False
    try:
        check_schema(schema)
    except SchemaError as exc:
        return exc.keyword, exc.path, exc.detail
    finally:
        schema_mod.is_plain = original
        schema_mod.clear_caches()
    return None


def _compiles(schema: object) -> str:
    grammar = llguidance.LLMatcher.grammar_from_json_schema(json.dumps(schema))
    return llguidance.LLMatcher.validate_grammar(grammar)


def _assert_plain_is_safe(schema: dict) -> None:
    if not is_plain(schema):
        return
    jsonschema.Draft202012Validator.check_schema(schema)
    assert not _compiles(schema), schema
    if schema.get("type", "object") == "object":
        assert not _compiles(styled(normalize_parameters(schema))), schema


@_SETTINGS
@given(schema=st.one_of(plain_like, _plain_node()))
def test_a_plain_schema_is_valid_and_compiles(schema):
    _assert_plain_is_safe(schema)


@_SETTINGS
@given(schema=st.one_of(plain_like, _plain_node(), tool_schemas))
def test_the_fast_path_never_changes_a_verdict(schema):
    try:
        check_schema(schema)
        fast = None
    except SchemaError as exc:
        fast = exc.keyword, exc.path, exc.detail
    assert fast == _full_verdict(schema)


def test_every_shipped_bfcl_tool_is_plain():
    for tool in bfcl.tools():
        parameters = tool["function"]["parameters"]
        assert is_plain(parameters), tool["function"]["name"]
        _assert_plain_is_safe(parameters)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]},
        {"type": "string", "enum": [1, 2]},
        {"type": "integer", "enum": [2**53 + 1]},
        {"type": "number", "enum": [0.1]},
        {"type": "string", "format": "uri-reference"},
        {"type": "string", "minLength": 2},
        {"type": "object", "properties": {"\ud800": {"type": "string"}}},
        {"enum": []},
        {"type": []},
        {"type": "array", "items": False},
        {"type": "integer", "properties": {}},
        {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"},
    ],
)
def test_what_the_fast_path_leaves_to_the_full_checks(schema):
    assert not is_plain(schema) or "\ud800" in json.dumps(schema, ensure_ascii=False)


def test_a_lone_surrogate_is_refused_as_before():
    schema = {"type": "object", "properties": {"\ud800": {"type": "string"}}}
    with pytest.raises(SchemaError) as info:
        check_schema(schema)
    assert (info.value.keyword, info.value.path, info.value.detail) == _full_verdict(schema)
    with pytest.raises(SchemaError):
        check_compiles(schema)


def test_a_repeated_tool_schema_is_one_shared_object_and_a_refusal_repeats():
    schema_mod.clear_caches()
    tool = {"type": "object", "properties": {"a": {"type": "string"}}}
    first, again = check_tool_parameters(tool), check_tool_parameters(json.loads(json.dumps(tool)))
    assert first is again and first["additionalProperties"] is False
    assert "additionalProperties" not in tool  # the client's object is left alone
    bad = {"type": "object", "properties": {"a": {"type": "dict"}}}
    for _ in range(2):
        with pytest.raises(SchemaError) as info:
            check_tool_parameters(bad)
        assert info.value.keyword == "type" and "properties/a" in info.value.path
