"""Rules named by their text: equal argument values of different tools are one rule, and a rule
kept for a value never refers to another tool's own rules."""

from __future__ import annotations

import re

import llguidance
import llguidance.hf
import pytest

from strictcall.formats import ConstraintSpec, ToolSpec, get_format
from strictcall.formats.constraint import ARGUMENTS
from strictcall.grammar import rule_memo
from strictcall.grammar.schema import check_tool_parameters

CALLS = {
    "qwen3_coder": "<tool_call>\n<function={name}>\n{params}</function>\n</tool_call>",
    "glm45": "<tool_call>{name}\n{params}</tool_call>",
    "pythonic": "[{name}({params})]",
    "gemma4": "<|tool_call>call:{name}{{{params}}}<tool_call|><|tool_response>",
}
PARAM = {
    "qwen3_coder": "<parameter={k}>\n{v}\n</parameter>\n",
    "glm45": "<arg_key>{k}</arg_key>\n<arg_value>{v}</arg_value>\n",
    "pythonic": "{k}={v}",
    "gemma4": "{k}:{v}",
}
QUOTED = {"qwen3_coder": "{}", "glm45": "{}", "pythonic": '"{}"', "gemma4": '<|"|>{}<|"|>'}


@pytest.fixture(autouse=True)
def fresh():
    ARGUMENTS.clear()
    rule_memo.clear_memos()
    yield
    ARGUMENTS.clear()
    rule_memo.clear_memos()


def _accepts(lltok, grammar: str, text: str) -> bool:
    matcher = llguidance.LLMatcher(lltok, llguidance.LLMatcher.grammar_from_lark(grammar))
    assert not matcher.is_error(), matcher.get_error()
    return matcher.consume_tokens(lltok.greedy_tokenize(text)) and matcher.is_accepting()


def _tool(name: str, properties: dict, **extra) -> ToolSpec:
    schema = {"type": "object", "properties": properties, "required": list(properties), **extra}
    return ToolSpec(name, check_tool_parameters(schema))


def _call(fmt: str, name: str, params: list[tuple[str, str]]) -> str:
    sep = ", " if fmt == "pythonic" else "," if fmt == "gemma4" else ""
    body = sep.join(PARAM[fmt].format(k=k, v=v) for k, v in params)
    return CALLS[fmt].format(name=name, params=body)


@pytest.mark.parametrize("fmt", sorted(CALLS))
def test_equal_values_of_two_tools_are_one_rule(fmt):
    city = {"type": "string", "description": "a city"}
    tools = (
        _tool("a", {"city": city}),
        _tool("b", {"town": {**city, "description": "another text"}}),
    )
    grammar = get_format(fmt).grammar(ConstraintSpec(tools=tools, mode="required"))
    assert grammar is not None
    rules = re.findall(r"^([A-Za-z_][A-Za-z0-9_]*(?:\[lazy\])?): (.*)$", grammar, re.M)
    assert len({head for head, _ in rules}) == len(rules)  # every rule defined once
    bodies = [body for _, body in rules]
    # no two rules alike: the two string values, annotations apart, are one
    assert len(set(bodies)) == len(bodies), grammar


@pytest.mark.parametrize("fmt", ["pythonic", "gemma4"])
def test_a_kept_value_never_names_another_tools_rules(lltok, fmt):
    # a value of any type is a rule of the tool's own (it refers to itself), written once per
    # tool (here first for `w`, a schema `true`): the object holding one, built after it, must
    # not be kept for a tool that lacks that rule
    anything = {"type": "object", "properties": {"x": {}}, "required": ["x"]}
    first = _tool("a", {"w": True, "v": anything})
    second = _tool("b", {"v": anything})
    g = get_format(fmt)
    g.grammar(ConstraintSpec(tools=(first,), mode="required"))
    grammar = g.grammar(ConstraintSpec(tools=(second,), mode="required"))
    assert grammar is not None
    inner = '{"x": 1}' if fmt == "pythonic" else "{x:1}"
    assert _accepts(lltok, grammar, _call(fmt, "b", [("v", inner)]))


@pytest.mark.parametrize("fmt", sorted(CALLS))
def test_values_resolved_against_definitions_are_not_shared(lltok, fmt):
    # the same `$ref` text means a different value under each tool's own definitions
    ref = {"$ref": "#/$defs/unit"}
    celsius = _tool("a", {"u": ref}, **{"$defs": {"unit": {"enum": ["celsius"]}}})
    kelvin = _tool("b", {"u": ref}, **{"$defs": {"unit": {"enum": ["kelvin"]}}})
    g = get_format(fmt)
    g.grammar(ConstraintSpec(tools=(celsius,), mode="required"))
    grammar = g.grammar(ConstraintSpec(tools=(kelvin,), mode="required"))
    assert grammar is not None
    quoted = QUOTED[fmt]
    assert _accepts(lltok, grammar, _call(fmt, "b", [("u", quoted.format("kelvin"))]))
    assert not _accepts(lltok, grammar, _call(fmt, "b", [("u", quoted.format("celsius"))]))
