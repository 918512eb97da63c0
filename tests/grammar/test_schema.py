"""Schemas are enforced or refused by keyword, never quietly weakened."""

from __future__ import annotations

import pytest

from strictcall.grammar.schema import (
    UNSUPPORTED,
    SchemaError,
    SchemaLimits,
    check_schema,
    normalize_parameters,
)


@pytest.mark.parametrize(
    "keyword", sorted(UNSUPPORTED - {"then", "else", "minContains", "maxContains"})
)
def test_each_unsupported_keyword_is_refused_by_name(keyword):
    value = {"$dynamicRef": "#x", "$dynamicAnchor": "x", "$recursiveRef": "#"}.get(keyword, {})
    if keyword in ("uniqueItems",):
        value = True
    if keyword in ("dependentRequired",):
        value = {"a": ["b"]}
    schema = {"type": "object", "properties": {"inner": {"type": "array", keyword: value}}}
    with pytest.raises(SchemaError) as info:
        check_schema(schema)
    assert info.value.keyword == keyword
    assert info.value.path == "#/properties/inner"


def test_invalid_json_schema_is_refused_with_the_keyword():
    with pytest.raises(SchemaError) as info:
        check_schema({"type": "object", "properties": {"a": {"type": "dict"}}})
    assert info.value.keyword == "type" and "properties/a" in info.value.path
    with pytest.raises(SchemaError) as info:
        check_schema({"type": "object", "properties": {"a": {"type": "string", "format": "nope"}}})
    assert info.value.keyword == "format"


def test_supported_keywords_pass():
    check_schema(
        {
            "type": "object",
            "$defs": {"id": {"type": "string", "pattern": "^[a-z]+$"}},
            "properties": {
                "id": {"$ref": "#/$defs/id"},
                "n": {"type": "integer", "minimum": 0, "maximum": 9, "multipleOf": 3},
                "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2},
                "either": {"anyOf": [{"type": "null"}, {"type": "number"}]},
                "one": {"oneOf": [{"const": 1}, {"const": "x"}]},
                "when": {"type": "string", "format": "date-time"},
            },
            "required": ["id"],
        }
    )


def test_limits():
    deep: dict = {"type": "object"}
    for _ in range(40):
        deep = {"type": "object", "properties": {"x": deep}}
    with pytest.raises(SchemaError, match="deeper"):
        check_schema(deep)
    big = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(5000)}}
    with pytest.raises(SchemaError, match="larger"):
        check_schema(big, SchemaLimits(max_bytes=10_000))


def test_normalisation_closes_objects_but_not_allof_branches():
    schema = normalize_parameters(
        {
            "type": "object",
            "properties": {"a": {"type": "object", "properties": {"b": {"type": "string"}}}},
            "allOf": [{"properties": {"c": {"type": "string"}}}],
        }
    )
    assert schema["additionalProperties"] is False
    assert schema["properties"]["a"]["additionalProperties"] is False
    assert "additionalProperties" not in schema["allOf"][0]
    open_ended = normalize_parameters(
        {"type": "object", "additionalProperties": {"type": "integer"}}
    )
    assert open_ended["additionalProperties"] == {"type": "integer"}
    assert normalize_parameters(None) == {
        "type": "object",
        "properties": {},
        "additionalProperties": False,
    }
