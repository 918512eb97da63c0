"""BFCL's schema dialect and function names, as OpenAI tools."""

from __future__ import annotations

import re

import jsonschema
import pytest

from strictcall.eval.data import ALL_CATEGORIES, load_category
from strictcall.eval.dialect import ToolNames, openai_name, to_json_schema, to_openai_tools
from strictcall.grammar.schema import SchemaError, check_tool_parameters

OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def test_dialect_types_become_json_schema_types_at_every_depth():
    bfcl = {
        "type": "dict",
        "properties": {
            "ratio": {"type": "float", "description": "a float"},
            "point": {"type": "tuple", "items": {"type": "float"}},
            "anything": {"type": "any"},
            "opts": {
                "type": "dict",
                "properties": {"deep": {"type": "array", "items": {"type": "dict"}}},
                "optional": True,
            },
            "java": {"type": "HashMap"},
            "odd": {"type": "complex"},
        },
        "required": ["ratio"],
    }
    schema = to_json_schema(bfcl)
    props = schema["properties"]
    assert schema["type"] == "object"
    assert props["ratio"] == {"type": "number", "description": "a float"}
    assert props["point"] == {"type": "array", "items": {"type": "number"}}
    assert props["anything"] == {"type": "string"}
    assert props["opts"] == {
        "type": "object",
        "properties": {"deep": {"type": "array", "items": {"type": "object"}}},
    }  # BFCL's `optional` annotation is not JSON Schema: dropped
    assert props["java"] == {"type": "object"}
    assert props["odd"] == {"type": "string"}  # unknown types are sent as strings, as BFCL does
    assert schema["required"] == ["ratio"]
    assert bfcl["type"] == "dict"  # the record itself is left as published


def test_dotted_names_are_sent_the_openai_way_and_map_back():
    it = next(i for i in load_category("simple_python") if i.id == "simple_python_20")
    tools, names = to_openai_tools(it.functions)
    assert it.functions[0]["name"] == "math.hcf"
    assert tools[0]["function"]["name"] == "math_hcf"
    assert names.original("math_hcf") == "math.hcf"
    assert names.original("math.hcf") is None  # only names that were sent map back
    assert tools[0]["function"]["parameters"]["type"] == "object"


def test_names_that_collide_after_mapping_stay_apart():
    long = "x." * 40
    names = ToolNames.of([{"name": "a.b"}, {"name": "a_b"}, {"name": "a-b"}, {"name": long}])
    sent = list(names.to_bfcl)
    assert len(set(sent)) == 4
    assert all(OPENAI_NAME.match(n) for n in sent)
    assert {names.original(n) for n in sent} == {"a.b", "a_b", "a-b", long}
    assert openai_name("") == "_"
    twins = ToolNames.of([{"name": long}, {"name": long.replace(".", "_")}])
    assert len(twins.to_bfcl) == 2 and all(len(n) <= 64 for n in twins.to_bfcl)


@pytest.mark.parametrize("category", ALL_CATEGORIES)
def test_every_shipped_tool_converts_to_a_valid_openai_tool(category):
    for it in load_category(category):
        tools, names = to_openai_tools(it.functions)
        assert len(tools) == len(it.functions)
        for tool in tools:
            fn = tool["function"]
            assert OPENAI_NAME.match(fn["name"]), fn["name"]
            assert names.original(fn["name"]) in {f["name"] for f in it.functions}
            jsonschema.validators.validator_for(fn["parameters"]).check_schema(fn["parameters"])


def test_strictcall_enforces_every_shipped_schema_but_one_it_cannot_satisfy():
    refused = {}
    for category in ALL_CATEGORIES:
        for it in load_category(category):
            for tool in to_openai_tools(it.functions)[0]:
                try:
                    check_tool_parameters(tool["function"]["parameters"])
                except SchemaError as exc:
                    refused[(it.id, tool["function"]["name"])] = exc.keyword
    # An integer parameter whose enum lists strings: no value satisfies it. The server says
    # so with a 400; the eval counts that question as an error.
    assert refused == {("live_relevance_8-8-0", "Events_3_BuyEventTickets"): "required"}
