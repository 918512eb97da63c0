"""Argument objects written as Lark accept exactly what llguidance's %json accepts."""

from __future__ import annotations

import random

import llguidance
import llguidance.hf
import numpy as np
import pytest

from strictcall.grammar.json_lark import arguments_rules
from strictcall.grammar.lark import json_rule
from strictcall.grammar.schema import check_tool_parameters, styled

SCHEMAS = [
    {"type": "object", "properties": {}},
    {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "boolean"}},
    },
    {
        "type": "object",
        "properties": {
            "a": {"type": "string", "description": "optional first"},
            "b": {"type": "number"},
            "c": {"enum": ["x", "y"]},
            "d": {"type": "array", "items": {"type": "integer"}},
        },
        "required": ["b", "d"],
    },
    {
        "type": "object",
        "properties": {
            "o": {
                "type": "object",
                "properties": {"x": {"type": "number"}, "y": {"enum": [1, 2]}},
                "required": ["y"],
            },
            "n": {"type": ["string", "null"]},
            "any": {"type": "object"},
        },
        "required": ["o"],
    },
]


def _grammar(rules: list[tuple[str, str]]) -> str:
    return "start: " + rules[0][0] + "\n" + "".join(f"{h}: {b}\n" for h, b in rules)


def _walk(lltok, grammar: str, seed: int) -> list:
    """Masks (and acceptance) along a random walk of allowed tokens."""
    matcher = llguidance.LLMatcher(lltok, llguidance.LLMatcher.grammar_from_lark(grammar))
    assert not matcher.is_error(), matcher.get_error()
    rng, seen = random.Random(seed), []
    for _ in range(120):
        mask = matcher.compute_bitmask()
        seen.append((mask, matcher.is_accepting()))
        bits = np.unpackbits(np.frombuffer(mask, dtype=np.uint8), bitorder="little")
        bits[[e for e in lltok.eos_tokens if e < bits.shape[0]]] = 0
        allowed = np.flatnonzero(bits[: lltok.vocab_size])
        if not allowed.size:
            break
        assert matcher.consume_token(int(allowed[rng.randrange(allowed.size)]))
    return seen


@pytest.mark.parametrize("index", range(len(SCHEMAS)))
def test_lark_objects_mask_like_json(lltok, index):
    schema = check_tool_parameters(SCHEMAS[index])
    rules = arguments_rules("args", schema)
    assert "%json" not in rules[0][1]  # written as Lark
    lark, whole = _grammar(rules), _grammar([("args", json_rule(styled(schema)))])
    for seed in range(6):
        assert _walk(lltok, lark, seed) == _walk(lltok, whole, seed)


def test_leaves_are_shared_and_named_by_content():
    one = dict(arguments_rules("a", check_tool_parameters(SCHEMAS[1])))
    two = dict(arguments_rules("b", check_tool_parameters(SCHEMAS[2])))
    shared = {h for h in one if h.startswith("json_")} & set(two)
    assert len(shared) == 1  # the string leaf (its description does not count)
    assert all(one[h] == two[h] for h in shared)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"type": "string", "pattern": "^x$"}}},
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/a"}}, "$defs": {"a": {}}},
        {"type": "object", "properties": {"a b\\": {"type": "string"}}},
        {"type": "object", "properties": {"a": {}}, "additionalProperties": True},
    ],
)
def test_what_is_not_certain_stays_json(schema):
    normalised = check_tool_parameters(schema)
    assert arguments_rules("args", normalised) == [("args", json_rule(styled(normalised)))]
